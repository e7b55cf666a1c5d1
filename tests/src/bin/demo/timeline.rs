//! The picture of a demo run (`timeline.svg`): one lane per node, in it one row per lock with
//! the spans the node led that lock and a mark per run, grey where the process was down, blue
//! where it was frozen, and a line per fault.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use plotters::prelude::*;

use crate::event::Kind;
use crate::record::{Action, Record};

const WIDTH: u32 = 1400;
const LANE_HEIGHT: u32 = 130;
/// Each node's lane spans this many units of the y axis; the rows of the locks sit inside.
const LANE: f64 = 3.0;
const ROW_HALF: f64 = 0.38;
const LOCK_COLOURS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];
const CATCH_UP: RGBColor = RGBColor(214, 39, 40);
const DOWN: RGBColor = RGBColor(200, 200, 200);
const FROZEN: RGBColor = RGBColor(120, 170, 230);
const FONT: &str = "sans-serif";

/// A horizontal span of one node: `[from, to]` in seconds since the start.
struct Span {
    node: usize,
    lock: usize,
    from: f64,
    to: f64,
    term: u64,
}

pub(crate) fn draw(record: &Record, path: &Path) -> anyhow::Result<()> {
    let end = record.seconds(record.stopped.unwrap_or_else(Utc::now)) + 2.0;
    let locks = locks(record);
    let lanes = record.nodes.len();
    let height = 120 + LANE_HEIGHT * u32::try_from(lanes)?;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(drawing)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "leader-jobs demo: who led which lock, each run, each fault",
            (FONT, 22),
        )
        .margin(12)
        .margin_top(40)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..end, 0.0..LANE * lanes as f64)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(20)
        .x_desc("seconds since the demo started")
        .draw()
        .map_err(drawing)?;

    let lane_top = |node: usize| LANE * (lanes - node) as f64;
    let row = |node: usize, lock: usize| lane_top(node) - 0.9 - 1.1 * lock as f64;

    // Process states under everything else.
    for (node, from, to, frozen) in process_gaps(record, end) {
        let colour = if frozen { FROZEN } else { DOWN };
        let (top, bottom) = (lane_top(node) - 0.15, lane_top(node) - LANE + 0.15);
        chart
            .draw_series([Rectangle::new(
                [(from, top), (to, bottom)],
                colour.mix(0.35).filled(),
            )])
            .map_err(drawing)?;
        let label = if frozen { "frozen" } else { "down" };
        chart
            .draw_series([Text::new(
                label,
                (from + 0.3, bottom + 0.45),
                (FONT, 12).into_font(),
            )])
            .map_err(drawing)?;
    }
    for span in leader_spans(record, &locks, end) {
        let colour = LOCK_COLOURS[span.lock % LOCK_COLOURS.len()];
        let y = row(span.node, span.lock);
        chart
            .draw_series([Rectangle::new(
                [(span.from, y + ROW_HALF), (span.to, y - ROW_HALF)],
                colour.mix(0.3).filled(),
            )])
            .map_err(drawing)?;
        chart
            .draw_series([Text::new(
                format!("{} t{}", locks[span.lock], span.term),
                (span.from + 0.2, y + ROW_HALF - 0.05),
                (FONT, 11).into_font(),
            )])
            .map_err(drawing)?;
    }
    let mut catch_ups = std::collections::BTreeSet::new();
    for (_, event) in &record.events {
        if let Kind::CatchUp(run) = &event.kind {
            catch_ups.insert(run.clone());
        }
    }
    for (node, event) in &record.events {
        let Kind::Run(run) = &event.kind else {
            continue;
        };
        let Some(lock) = locks.iter().position(|lock| *lock == run.lock) else {
            continue;
        };
        let (x, y) = (record.seconds(event.at), row(*node, lock) - 0.1);
        let colour = if catch_ups.contains(run) {
            CATCH_UP
        } else {
            BLACK
        };
        chart
            .draw_series([TriangleMarker::new((x, y), 5, colour.filled())])
            .map_err(drawing)?;
    }
    for fault in &record.faults {
        let x = record.seconds(fault.at);
        let (top, bottom) = (lane_top(fault.node), lane_top(fault.node) - LANE);
        let colour = fault_colour(fault.action);
        chart
            .draw_series([PathElement::new(
                vec![(x, top), (x, bottom)],
                colour.stroke_width(2),
            )])
            .map_err(drawing)?;
        chart
            .draw_series([Text::new(
                fault.action.label(),
                (x + 0.2, bottom + 0.25),
                (FONT, 12).into_font().color(&colour),
            )])
            .map_err(drawing)?;
    }
    for takeover in &record.takeovers {
        let (Some((node, after)), Some(lock)) = (
            takeover.by,
            locks.iter().position(|lock| *lock == takeover.lock),
        ) else {
            continue;
        };
        let x = record.seconds(takeover.fault.at) + after.as_secs_f64();
        chart
            .draw_series([Text::new(
                format!("took over after {:.2} s", after.as_secs_f64()),
                (x + 0.2, row(node, lock) - ROW_HALF - 0.05),
                (FONT, 11).into_font().color(&CATCH_UP),
            )])
            .map_err(drawing)?;
    }
    for (node, name) in record.nodes.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, lane_top(node) - LANE / 2.0));
        root.draw(&Text::new(
            name.as_str(),
            (x - 80, y - 7),
            (FONT, 16).into_font(),
        ))
        .map_err(drawing)?;
    }
    legend(&root, &locks)?;
    root.present().map_err(drawing)?;
    Ok(())
}

/// The locks in the order the nodes registered them.
fn locks(record: &Record) -> Vec<String> {
    let mut locks: Vec<String> = Vec::new();
    for (_, event) in &record.events {
        if let Kind::JobRegistered { lock, .. } = &event.kind {
            if !locks.contains(lock) {
                locks.push(lock.clone());
            }
        }
    }
    locks
}

/// From each node's "leadership gained" to its "leadership lost", or to the SIGKILL that ended
/// its process, or to the end.
fn leader_spans(record: &Record, locks: &[String], end: f64) -> Vec<Span> {
    let mut open: BTreeMap<(usize, usize), (f64, u64)> = BTreeMap::new();
    let mut spans = Vec::new();
    let mut moments: Vec<(DateTime<Utc>, usize, Option<&Kind>)> = record
        .events
        .iter()
        .map(|(node, event)| (event.at, *node, Some(&event.kind)))
        .collect();
    moments.extend(
        record
            .faults
            .iter()
            .filter(|fault| fault.action == Action::Kill)
            .map(|fault| (fault.at, fault.node, None)),
    );
    moments.sort_by_key(|(at, _, _)| *at);
    let lock_index = |name: &str| locks.iter().position(|lock| lock == name);
    for (at, node, kind) in moments {
        let x = record.seconds(at);
        match kind {
            Some(Kind::LeadershipGained { lock, term }) => {
                if let Some(lock) = lock_index(lock) {
                    open.insert((node, lock), (x, *term));
                }
            }
            Some(Kind::LeadershipLost { lock, .. }) => {
                let Some(lock) = lock_index(lock) else {
                    continue;
                };
                if let Some((from, term)) = open.remove(&(node, lock)) {
                    spans.push(Span {
                        node,
                        lock,
                        from,
                        to: x,
                        term,
                    });
                }
            }
            Some(_) => {}
            None => {
                let ended: Vec<_> = open.keys().filter(|(n, _)| *n == node).copied().collect();
                for key in ended {
                    if let Some((from, term)) = open.remove(&key) {
                        spans.push(Span {
                            node,
                            lock: key.1,
                            from,
                            to: x,
                            term,
                        });
                    }
                }
            }
        }
    }
    for ((node, lock), (from, term)) in open {
        spans.push(Span {
            node,
            lock,
            from,
            to: end,
            term,
        });
    }
    spans
}

/// Where each node's process was down (killed or stopped until restarted) or frozen.
fn process_gaps(record: &Record, end: f64) -> Vec<(usize, f64, f64, bool)> {
    let mut gaps = Vec::new();
    let mut since: BTreeMap<usize, (f64, bool)> = BTreeMap::new();
    for fault in &record.faults {
        let x = record.seconds(fault.at);
        match fault.action {
            Action::Kill | Action::Terminate => {
                since.insert(fault.node, (x, false));
            }
            Action::Freeze => {
                since.insert(fault.node, (x, true));
            }
            Action::Start | Action::Thaw => {
                if let Some((from, frozen)) = since.remove(&fault.node) {
                    gaps.push((fault.node, from, x, frozen));
                }
            }
        }
    }
    gaps.extend(
        since
            .into_iter()
            .map(|(node, (from, frozen))| (node, from, end, frozen)),
    );
    gaps
}

fn fault_colour(action: Action) -> RGBColor {
    match action {
        Action::Kill => RGBColor(200, 0, 0),
        Action::Terminate => RGBColor(230, 120, 0),
        Action::Freeze => RGBColor(40, 90, 200),
        Action::Thaw => RGBColor(0, 140, 70),
        Action::Start => RGBColor(110, 110, 110),
    }
}

fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    locks: &[String],
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let mut x = 110;
    let y = 38;
    let mut item =
        |swatch: &dyn Fn(i32) -> anyhow::Result<()>, label: &str| -> anyhow::Result<()> {
            swatch(x)?;
            root.draw(&Text::new(
                label.to_owned(),
                (x + 18, y - 6),
                (FONT, 13).into_font(),
            ))
            .map_err(drawing)?;
            x += 30 + 8 * i32::try_from(label.len())?;
            Ok(())
        };
    for (index, lock) in locks.iter().enumerate() {
        let colour = LOCK_COLOURS[index % LOCK_COLOURS.len()];
        item(
            &|x| {
                root.draw(&Rectangle::new(
                    [(x, y - 6), (x + 14, y + 6)],
                    colour.mix(0.3).filled(),
                ))
                .map_err(drawing)
            },
            &format!("leads {lock} (term)"),
        )?;
    }
    item(
        &|x| {
            root.draw(&TriangleMarker::new((x + 7, y), 5, BLACK.filled()))
                .map_err(drawing)
        },
        "run",
    )?;
    item(
        &|x| {
            root.draw(&TriangleMarker::new((x + 7, y), 5, CATCH_UP.filled()))
                .map_err(drawing)
        },
        "catch-up run",
    )?;
    item(
        &|x| {
            root.draw(&Rectangle::new(
                [(x, y - 6), (x + 14, y + 6)],
                DOWN.mix(0.35).filled(),
            ))
            .map_err(drawing)
        },
        "process down",
    )?;
    item(
        &|x| {
            root.draw(&Rectangle::new(
                [(x, y - 6), (x + 14, y + 6)],
                FROZEN.mix(0.35).filled(),
            ))
            .map_err(drawing)
        },
        "frozen (SIGSTOP)",
    )?;
    Ok(())
}

fn drawing(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("could not draw the timeline: {error}")
}
