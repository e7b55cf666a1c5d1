//! The picture of a demo run (`timeline.svg`): one lane per node, in it one row per lock with
//! the spans the node led that lock (and the term) and a mark per run; grey where the process
//! was down, blue where it was frozen; a line per fault; the measured takeover times.
//!
//! Drawn with plotters' SVG backend only: text is left to the SVG viewer, so no font library or
//! system dependency is needed.

mod lanes;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::anyhow;
use chrono::Utc;
use plotters::coord::Shift;
use plotters::prelude::*;

use self::lanes::{leader_spans, lock_of_jobs, locks, process_gaps};
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
const ALERT: RGBColor = RGBColor(214, 39, 40);
const DOWN: RGBColor = RGBColor(200, 200, 200);
const FROZEN: RGBColor = RGBColor(120, 170, 230);
const FONT: &str = "sans-serif";

pub(crate) fn draw(record: &Record, path: &Path) -> anyhow::Result<()> {
    let end = record.seconds(record.stopped.unwrap_or_else(Utc::now)) + 2.0;
    let locks = locks(record);
    let lanes = record.nodes.len();
    let root = SVGBackend::new(path, (WIDTH, 130 + LANE_HEIGHT * u32::try_from(lanes)?))
        .into_drawing_area();
    root.fill(&WHITE).map_err(drawing)?;
    let title = "leader-jobs demo: who led which lock, each run, each fault";
    root.draw(&Text::new(title, (110, 12), (FONT, 20).into_font()))
        .map_err(drawing)?;
    legend(&root, &locks)?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .margin_top(70)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..end, 0.0..LANE * lanes as f64)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(BLACK.mix(0.08))
        .y_labels(0)
        .x_labels(20)
        .x_desc("seconds since the demo started")
        .draw()
        .map_err(drawing)?;

    let lane_top = |node: usize| LANE * (lanes - node) as f64;
    let row = |node: usize, lock: usize| lane_top(node) - 0.9 - 1.1 * lock as f64;
    let mut shapes: Vec<DynElement<'static, SVGBackend<'_>, (f64, f64)>> = Vec::new();

    for node in 1..lanes {
        let y = lane_top(node);
        shapes.push(PathElement::new(vec![(0.0, y), (end, y)], BLACK.mix(0.3)).into_dyn());
    }
    for gap in process_gaps(record, end) {
        let (colour, label) = if gap.frozen {
            (FROZEN, "frozen")
        } else {
            (DOWN, "down")
        };
        let (top, bottom) = (lane_top(gap.node) - 0.1, lane_top(gap.node) - LANE + 0.1);
        let area = [(gap.from, top), (gap.to, bottom)];
        shapes.push(Rectangle::new(area, colour.mix(0.35).filled()).into_dyn());
        shapes.push(text(label, (gap.from + 0.3, bottom + 0.45), 12, BLACK).into_dyn());
    }
    for span in leader_spans(record, &locks, end) {
        let colour = LOCK_COLOURS[span.lock % LOCK_COLOURS.len()];
        let y = row(span.node, span.lock);
        let area = [(span.from, y + ROW_HALF), (span.to, y - ROW_HALF)];
        shapes.push(Rectangle::new(area, colour.mix(0.3).filled()).into_dyn());
        let label = format!("{} t{}", locks[span.lock], span.term);
        shapes.push(text(label, (span.from + 0.2, y + ROW_HALF - 0.05), 11, BLACK).into_dyn());
    }
    let catch_ups: BTreeSet<_> = record
        .events
        .iter()
        .filter_map(|(_, event)| match &event.kind {
            Kind::CatchUp(run) => Some(run),
            _ => None,
        })
        .collect();
    let lock_of_job = lock_of_jobs(record, &locks);
    for (node, event) in &record.events {
        let x = record.seconds(event.at);
        match &event.kind {
            Kind::Run(run) => {
                let Some(lock) = locks.iter().position(|lock| *lock == run.lock) else {
                    continue;
                };
                let colour = if catch_ups.contains(run) {
                    ALERT
                } else {
                    BLACK
                };
                let at = (x, row(*node, lock) - 0.1);
                shapes.push(TriangleMarker::new(at, 5, colour.filled()).into_dyn());
            }
            Kind::ClaimLost { job, .. } => {
                let Some(&lock) = lock_of_job.get(job.as_str()) else {
                    continue;
                };
                let at = (x, row(*node, lock) - 0.1);
                shapes.push(Cross::new(at, 5, ALERT.stroke_width(2)).into_dyn());
            }
            _ => {}
        }
    }
    for fault in &record.faults {
        let x = record.seconds(fault.at);
        let (top, bottom) = (lane_top(fault.node), lane_top(fault.node) - LANE);
        let colour = fault_colour(fault.action);
        shapes
            .push(PathElement::new(vec![(x, top), (x, bottom)], colour.stroke_width(2)).into_dyn());
        shapes.push(text(fault.action.label(), (x + 0.2, bottom + 0.25), 12, colour).into_dyn());
    }
    for takeover in &record.takeovers {
        let lock = locks.iter().position(|lock| *lock == takeover.lock);
        let (Some((node, after)), Some(lock)) = (takeover.by, lock) else {
            continue;
        };
        let x = record.seconds(takeover.fault.at) + after.as_secs_f64();
        let label = format!("took over after {:.2} s", after.as_secs_f64());
        shapes.push(
            text(
                label,
                (x + 0.2, row(node, lock) - ROW_HALF - 0.05),
                11,
                ALERT,
            )
            .into_dyn(),
        );
    }
    chart.draw_series(shapes).map_err(drawing)?;

    for (node, name) in record.nodes.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, lane_top(node) - 0.2));
        root.draw(&Text::new(
            name.as_str(),
            (x - 84, y),
            (FONT, 16).into_font(),
        ))
        .map_err(drawing)?;
        for (index, lock) in locks.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(0.0, row(node, index)));
            let style = (FONT, 12).into_font().color(&BLACK.mix(0.6));
            root.draw(&Text::new(lock.as_str(), (x - 70, y - 6), style))
                .map_err(drawing)?;
        }
    }
    root.present().map_err(drawing)?;
    Ok(())
}

fn text<C: Color>(
    label: impl Into<String>,
    at: (f64, f64),
    size: u32,
    colour: C,
) -> Text<'static, (f64, f64), String> {
    let style = (FONT, size).into_font().color(&colour);
    Text::new(label.into(), at, style)
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

/// What a legend entry shows before its label.
enum Swatch {
    Area(RGBAColor),
    Run(RGBColor),
    Refused,
}

fn legend(root: &DrawingArea<SVGBackend<'_>, Shift>, locks: &[String]) -> anyhow::Result<()> {
    let mut entries: Vec<(Swatch, String)> = locks
        .iter()
        .enumerate()
        .map(|(index, lock)| {
            let colour = LOCK_COLOURS[index % LOCK_COLOURS.len()].mix(0.3);
            (Swatch::Area(colour), format!("leads {lock} (t = term)"))
        })
        .collect();
    entries.extend([
        (Swatch::Run(BLACK), "run".to_owned()),
        (Swatch::Run(ALERT), "catch-up run".to_owned()),
        (Swatch::Refused, "claim refused by the ledger".to_owned()),
        (Swatch::Area(DOWN.mix(0.35)), "process down".to_owned()),
        (
            Swatch::Area(FROZEN.mix(0.35)),
            "frozen (SIGSTOP)".to_owned(),
        ),
    ]);
    let (mut x, y) = (110, 50);
    for (swatch, label) in entries {
        match swatch {
            Swatch::Area(colour) => root.draw(&Rectangle::new(
                [(x, y - 6), (x + 14, y + 6)],
                colour.filled(),
            )),
            Swatch::Run(colour) => root.draw(&TriangleMarker::new((x + 7, y), 5, colour.filled())),
            Swatch::Refused => root.draw(&Cross::new((x + 7, y), 5, ALERT.stroke_width(2))),
        }
        .map_err(drawing)?;
        let width = 7 * i32::try_from(label.len())?;
        root.draw(&Text::new(label, (x + 18, y - 6), (FONT, 13).into_font()))
            .map_err(drawing)?;
        x += 34 + width;
    }
    Ok(())
}

fn drawing(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("could not draw the timeline: {error}")
}
