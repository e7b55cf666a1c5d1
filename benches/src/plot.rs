//! The takeover distributions as an SVG strip plot: one row per system, one panel per fault,
//! seconds on a log scale. Text is left to the SVG viewer's fonts, so nothing here needs a font
//! installed.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One series: a system's takeover samples under one fault.
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) samples: Vec<Duration>,
}

const COLORS: [RGBColor; 4] = [
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe7, 0x29, 0x8a),
];

/// Writes the plot of `panels` (title, series) to `path`.
pub(crate) fn write(path: &Path, panels: &[(String, Vec<Series>)]) -> Result<(), BoxError> {
    let height = 60 + 170 * u32::try_from(panels.len())?;
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let areas = root.split_evenly((panels.len().max(1), 1));
    for ((title, series), area) in panels.iter().zip(areas) {
        draw_panel(&area, title, series)?;
    }
    root.present()?;
    Ok(())
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
) -> Result<(), BoxError> {
    let rows = series.len().max(1);
    let labels: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(120)
        .build_cartesian_2d((0.05f64..200f64).log_scale(), -0.5f64..(rows as f64 - 0.5))?;
    chart
        .configure_mesh()
        .x_desc("seconds until another node led (log scale)")
        .y_labels(rows)
        .y_label_formatter(&|y| {
            let index = y.round();
            if (y - index).abs() < 0.01 && index >= 0.0 {
                labels.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()?;
    for (row, one) in series.iter().enumerate() {
        let color = COLORS[row % COLORS.len()];
        let count = one.samples.len().max(1) as f64;
        chart.draw_series(one.samples.iter().enumerate().map(|(index, sample)| {
            // Spread the points of a row vertically so that equal values stay visible.
            let spread = (index as f64 / count - 0.5) * 0.5;
            Circle::new(
                (sample.as_secs_f64().max(0.05), row as f64 + spread),
                3,
                color.filled(),
            )
        }))?;
    }
    Ok(())
}
