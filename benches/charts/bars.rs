//! Grouped bar charts as SVG: one group per workload, one bar per measured member, a legend on
//! the right, and a caption line saying how the figures were made.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::error::Error;
use std::ops::Range;
use std::path::Path;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 600;
const LEGEND_WIDTH: u32 = 250;
/// Share of a group's width that its bars fill.
const FILL: f64 = 0.84;

/// The value axis.
pub enum Axis {
    /// Powers of ten; bars start at the bottom of the axis.
    Log,
    /// From zero, with an optional horizontal reference line (1.0 for ratios).
    Linear { reference: Option<f64> },
}

/// A grouped bar chart being filled in.
pub struct Bars {
    title: String,
    unit: String,
    axis: Axis,
    caption: String,
    /// Group labels, left to right.
    pub groups: Vec<String>,
    /// A second line of text per group (what the workload does); may be empty.
    pub group_notes: Vec<String>,
    /// Series in legend order, with their colour.
    series: Vec<(String, RGBColor)>,
    /// (group, series, value).
    values: Vec<(usize, usize, f64)>,
}

/// Colours for series that [`Bars::series`] did not name beforehand.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];

impl Bars {
    pub fn new(title: &str, unit: &str, axis: Axis, caption: &str) -> Bars {
        Bars {
            title: title.to_string(),
            unit: unit.to_string(),
            axis,
            caption: caption.to_string(),
            groups: Vec::new(),
            group_notes: Vec::new(),
            series: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Declares a series with its colour (`0xRRGGBB`); the legend lists series in this order.
    pub fn series(&mut self, name: &str, rgb: u32) {
        let [_, r, g, b] = rgb.to_be_bytes();
        self.series.push((name.to_string(), RGBColor(r, g, b)));
    }

    /// Sets one bar. The group must exist; an undeclared series gets the next palette colour.
    pub fn set(&mut self, group: &str, series: &str, value: f64) {
        let g = self
            .groups
            .iter()
            .position(|x| x == group)
            .unwrap_or_else(|| panic!("unknown group {group}"));
        let s = match self.series.iter().position(|(x, _)| x == series) {
            Some(s) => s,
            None => {
                let colour = PALETTE[self.series.len() % PALETTE.len()];
                self.series.push((series.to_string(), colour));
                self.series.len() - 1
            }
        };
        self.values.push((g, s, value));
    }

    /// The bars of group `g`: (series, value), in series order.
    fn group(&self, g: usize) -> Vec<(usize, f64)> {
        let mut v: Vec<(usize, f64)> = self
            .values
            .iter()
            .filter(|&&(vg, _, _)| vg == g)
            .map(|&(_, s, x)| (s, x))
            .collect();
        v.sort_by_key(|&(s, _)| s);
        v
    }

    /// Writes the chart to `path` as SVG.
    pub fn draw(&self, path: &Path) -> Result<(), Box<dyn Error>> {
        if self.values.is_empty() {
            return Err(format!("{}: nothing to draw", path.display()).into());
        }
        let used: Vec<usize> = (0..self.series.len())
            .filter(|&s| self.values.iter().any(|v| v.1 == s))
            .collect();
        let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let (main, bottom) = root.split_vertically(HEIGHT - 28);
        let (plot, legend) = main.split_horizontally(WIDTH - LEGEND_WIDTH);
        bottom.draw(&Text::new(
            self.caption.clone(),
            (12, 6),
            ("sans-serif", 13)
                .into_font()
                .color(&RGBColor(0x55, 0x55, 0x55)),
        ))?;

        let max = self.values.iter().map(|v| v.2).fold(f64::MIN, f64::max);
        let min = self.values.iter().map(|v| v.2).fold(f64::MAX, f64::min);
        let groups = GroupAxis(self.groups.len());
        let mut builder = ChartBuilder::on(&plot);
        builder
            .caption(&self.title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(if self.group_notes.is_empty() { 36 } else { 52 })
            .y_label_area_size(70);
        let label = |i: usize| -> String {
            match self.group_notes.get(i) {
                Some(note) if !note.is_empty() => format!("{} ({note})", self.groups[i]),
                _ => self.groups[i].clone(),
            }
        };
        match self.axis {
            Axis::Log => {
                // The axis starts and ends on labelled ticks, with room above the tallest bar
                // for its value.
                let lo = nice(min * 0.8, false);
                let hi = nice(max * 1.4, true);
                let mut chart = builder.build_cartesian_2d(groups, LogAxis(lo, hi))?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .light_line_style(WHITE)
                    .x_label_formatter(&|x| label(*x as usize))
                    .x_label_style(("sans-serif", 13))
                    .y_desc(&self.unit)
                    .y_label_formatter(&|y| short(*y))
                    .draw()?;
                self.draw_bars(&mut chart, lo)?;
            }
            Axis::Linear { reference } => {
                let hi = max.max(reference.unwrap_or(0.0)) * 1.12;
                let mut chart = builder.build_cartesian_2d(groups, 0.0..hi)?;
                chart
                    .configure_mesh()
                    .disable_x_mesh()
                    .light_line_style(WHITE)
                    .x_label_formatter(&|x| label(*x as usize))
                    .x_label_style(("sans-serif", 13))
                    .y_desc(&self.unit)
                    .y_label_formatter(&|y| short(*y))
                    .draw()?;
                self.draw_bars(&mut chart, 0.0)?;
                if let Some(r) = reference {
                    let n = self.groups.len() as f64;
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, r), (n, r)],
                        BLACK.stroke_width(1),
                    )))?;
                }
            }
        }

        for (row, &s) in used.iter().enumerate() {
            let (name, colour) = &self.series[s];
            let y = 60 + 24 * row as i32;
            legend.draw(&Rectangle::new([(6, y), (22, y + 14)], colour.filled()))?;
            legend.draw(&Text::new(name.clone(), (30, y), ("sans-serif", 14)))?;
        }
        root.present()?;
        Ok(())
    }

    /// The bars, and their values above them when they are wide enough to hold the text.
    fn draw_bars<Y>(
        &self,
        chart: &mut ChartContext<'_, SVGBackend<'_>, Cartesian2d<GroupAxis, Y>>,
        base: f64,
    ) -> Result<(), Box<dyn Error>>
    where
        Y: Ranged<ValueType = f64>,
    {
        let widest = (0..self.groups.len())
            .map(|g| self.group(g).len())
            .max()
            .unwrap_or(1);
        let plot_px = f64::from(WIDTH - LEGEND_WIDTH - 100);
        let bar_px = plot_px / self.groups.len() as f64 * FILL / widest as f64;
        let text = TextStyle::from(("sans-serif", 11).into_font())
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        for g in 0..self.groups.len() {
            let bars = self.group(g);
            let width = FILL / bars.len() as f64;
            let left = g as f64 + (1.0 - FILL) / 2.0;
            for (k, &(s, value)) in bars.iter().enumerate() {
                let x0 = left + width * k as f64;
                let colour = self.series[s].1;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x0 + width * 0.06, base), (x0 + width * 0.94, value)],
                    colour.filled(),
                )))?;
                if bar_px >= 26.0 {
                    chart.draw_series(std::iter::once(Text::new(
                        short(value),
                        (x0 + width / 2.0, value),
                        text.clone(),
                    )))?;
                }
            }
        }
        Ok(())
    }
}

/// Three significant digits, without trailing zeros past the point: 0.0412, 1.58, 32.6, 1200.
fn short(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// An x axis of `n` groups: group `i` spans `i..i + 1` and its label sits at `i + 0.5`.
#[derive(Clone)]
pub struct GroupAxis(usize);

impl Ranged for GroupAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = f64::from(limit.1 - limit.0);
        limit.0 + (value / self.0 as f64 * span).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.0 as f64
    }
}

/// A logarithmic value axis from `.0` to `.1` (powers of ten), labelled at 1, 2 and 5 times
/// each power of ten.
#[derive(Clone)]
pub struct LogAxis(f64, f64);

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = (self.0.log10(), self.1.log10());
        let at = (value.max(self.0).log10() - lo) / (hi - lo);
        limit.0 + (at * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        log_ticks(self.0, self.1)
    }

    fn range(&self) -> Range<f64> {
        self.0..self.1
    }
}

/// The nearest 1, 2 or 5 times a power of ten above `x` (`up`) or below it.
fn nice(x: f64, up: bool) -> f64 {
    let decade = 10f64.powf(x.log10().floor());
    let steps = [1.0, 2.0, 5.0, 10.0].map(|m| m * decade);
    if up {
        steps.into_iter().find(|&t| t >= x).unwrap_or(10.0 * decade)
    } else {
        steps.into_iter().rev().find(|&t| t <= x).unwrap_or(decade)
    }
}

/// 1, 2 and 5 times each power of ten from `lo` to `hi`, both included.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi * 1.0001 {
        for m in [1.0, 2.0, 5.0] {
            let t = decade * m;
            if t >= lo * 0.9999 && t <= hi * 1.0001 {
                ticks.push(t);
            }
        }
        decade *= 10.0;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::{log_ticks, nice, short};

    #[test]
    fn nice_bounds() {
        assert_eq!(nice(0.62, false), 0.5);
        assert_eq!(nice(45.6, true), 50.0);
        assert_eq!(nice(3.0, false), 2.0);
        assert_eq!(nice(6.0, true), 10.0);
        assert_eq!(nice(1.0, true), 1.0);
    }

    #[test]
    fn log_ticks_are_one_two_five() {
        let t: Vec<String> = log_ticks(0.1, 100.0).into_iter().map(short).collect();
        assert_eq!(
            t,
            ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50", "100"]
        );
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(short(1.584), "1.58");
        assert_eq!(short(32.64), "32.6");
        assert_eq!(short(0.04123), "0.0412");
        assert_eq!(short(1.0), "1");
        assert_eq!(short(1234.0), "1234");
        assert_eq!(short(0.0), "0");
    }
}
