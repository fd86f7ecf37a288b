//! Every chart of the reports is drawn with plotters (`=0.3.7`, no default features, SVG
//! backend only); this module is the glue: one SVG backend into memory, the report's fonts
//! and colours, legends, a header, and a cartesian chart whose ticks are this crate's own
//! integer key points ([`axis`]), so plotters never searches for float ticks.
//!
//! Determinism: plotters is built without its `ttf` and `ab_glyph` features (Cargo.toml), so
//! text is measured by its built-in naive metrics (plain arithmetic, no system fonts), and
//! `plotters-svg` writes integer coordinates. The charts avoid the few plotters pieces that
//! call libm (its triangle marker uses `cos`/`sin`; a dashed path uses `hypot`, which is
//! exact only for axis-parallel segments, so dashes are drawn only horizontally or
//! vertically, by [`hline`] and [`vline`]). The same data gives the same bytes everywhere.
//!
//! One post-pass ([`draw`]), tested below: the opening `<svg>` tag gets `role="img"` and a
//! `<title>` as its first child, as every figure of the report has (screen readers name it
//! by it; plotters has no element for either); the texts' `font-family="sans-serif"` gives
//! way to the report's system font stack ([`FONT_FAMILY`]) on the root element, as the block
//! map has it; font sizes are written with at most two decimals (plotters writes
//! `size / 1.24`, a float); empty `<text>` elements (the tick labels of a panel whose x axis
//! is labelled by the panel below) are dropped.
//!
//! The one chart not drawn here is the block map (`report::blocks`): it needs a `<title>`
//! tooltip per cell, which plotters cannot emit.

pub mod axis;

use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::RangedCoordi64;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use axis::Axis;

use super::format::escape;

/// A drawing area of the SVG backend (pixel coordinates).
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What drawing returns.
pub type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;
/// A drawing error.
pub type DrawError = DrawingAreaErrorKind<std::io::Error>;
/// A chart's coordinates: integer keys on both axes ([`Axis::key`]).
pub type Coord = Cartesian2d<WithKeyPoints<RangedCoordi64>, WithKeyPoints<RangedCoordi64>>;
/// A chart drawn on an [`Area`].
pub type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Coord>;

/// The font stack of every chart (system fonts only: the report must work offline), set
/// once on the root element by the post-pass.
pub const FONT_FAMILY: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

/// Title text.
pub const TITLE: &str = "#1a202c";
/// Body text, axis titles.
pub const INK: &str = "#2d3748";
/// Secondary text (subtitles, tick labels, notes).
pub const MUTED: &str = "#4a5568";
/// Grid lines.
pub const GRID: &str = "#e2e8f0";

/// A `size` (px) SVG titled `title`, drawn with `f`. Drawing into memory cannot fail; should
/// plotters still report an error, the SVG drawn so far is kept.
pub fn draw(size: (u32, u32), title: &str, f: impl FnOnce(&Area) -> Drawn) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .and_then(|()| f(&root))
            .and_then(|()| root.present());
        debug_assert!(drawn.is_ok(), "plotters into memory: {drawn:?}");
    }
    post_pass(&out, title)
}

/// The post-pass of [`draw`]: `role="img"` and `<title>`, short font sizes, no empty text.
fn post_pass(svg: &str, title: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let (open, rest) = svg.split_at(end);
    let mut out = String::with_capacity(svg.len() + title.len() + 64);
    out.push_str(open);
    out.push_str(" role=\"img\" font-family=\"");
    out.push_str(FONT_FAMILY);
    out.push_str("\">\n<title>");
    out.push_str(&escape(title));
    out.push_str("</title>");
    let mut rest = &rest[1..];
    // plotters writes each text as `<text …>\n{content}\n</text>`.
    while let Some(i) = rest.find("<text ") {
        let Some(close) = rest[i..].find("</text>").map(|c| i + c + "</text>".len()) else {
            break;
        };
        out.push_str(&rest[..i]);
        let element = &rest[i..close];
        let empty = element
            .find('>')
            .is_some_and(|g| element[g + 1..element.len() - 7].trim().is_empty());
        if empty {
            // Drop the element and its line break.
            rest = rest[close..].strip_prefix('\n').unwrap_or(&rest[close..]);
            continue;
        }
        out.push_str(&short_font_size(&element.replacen(
            " font-family=\"sans-serif\"",
            "",
            1,
        )));
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// `font-size="11.499999999999998"` → `font-size="11.5"` (two decimals at most).
fn short_font_size(element: &str) -> String {
    const KEY: &str = "font-size=\"";
    let Some(i) = element.find(KEY).map(|i| i + KEY.len()) else {
        return element.to_string();
    };
    let Some(len) = element[i..].find('"') else {
        return element.to_string();
    };
    let Ok(size) = element[i..i + len].parse::<f64>() else {
        return element.to_string();
    };
    let hundredths = (size * 100.0).round() as u64;
    let mut short = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    while short.ends_with('0') {
        short.pop();
    }
    if short.ends_with('.') {
        short.pop();
    }
    format!("{}{short}{}", &element[..i], &element[i + len..])
}

/// A colour from `#rrggbb` (black when malformed: the colours are constants of this crate).
pub fn rgb(hex: &str) -> RGBColor {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    RGBColor(c(0), c(2), c(4))
}

/// plotters' SVG backend writes a font's size divided by this (points to pixels).
const PT_PER_PX: f64 = 1.24;

/// The report's sans-serif at `size` px in colour `hex`.
pub fn font(size: f64, hex: &str) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, size * PT_PER_PX, FontStyle::Normal).color(&rgb(hex))
}

/// The same, bold.
pub fn bold(size: f64, hex: &str) -> TextStyle<'static> {
    FontDesc::new(FontFamily::SansSerif, size * PT_PER_PX, FontStyle::Bold).color(&rgb(hex))
}

/// The width of `text` in `style` as plotters' built-in (naive, arithmetic) metrics measure
/// it, px.
pub fn text_width(text: &str, style: &TextStyle) -> i32 {
    style.font.box_size(text).map_or(0, |(w, _)| w as i32)
}

/// `style` anchored at (`h`, `v`) of the text.
pub fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    /// A filled square of this colour.
    Swatch(&'a str),
    /// A short line of this colour.
    Line(&'a str),
    /// A short dashed line of this colour (a reference level).
    Dashed(&'a str),
}

/// Height of a legend row, px.
const LEGEND_ROW: i32 = 18;

/// A legend at (`x`, `y`) of `area`, entries in rows no wider than `width`, spaced by their
/// text's width as plotters measures it (and an eighth). Returns the height used.
pub fn legend(
    area: &Area,
    (x, y): (i32, i32),
    width: i32,
    entries: &[(Key, &str)],
) -> Result<i32, DrawError> {
    let style = font(11.5, INK);
    let (mut at, mut row) = (x, y);
    for (key, text) in entries {
        // plotters' naive metrics (0.56 em a character) run short of the wider system
        // fonts (DejaVu Sans about 0.62 em): an eighth more keeps entries apart.
        let (w, _) = area.estimate_text_size(text, &style)?;
        let w = 18 + w as i32 * 9 / 8 + 22;
        if at > x && at + w > x + width {
            at = x;
            row += LEGEND_ROW;
        }
        match key {
            Key::Swatch(c) => area.draw(&Rectangle::new(
                [(at, row + 1), (at + 12, row + 13)],
                rgb(c).filled(),
            ))?,
            Key::Line(c) => area.draw(&PathElement::new(
                [(at, row + 7), (at + 14, row + 7)],
                rgb(c).stroke_width(2),
            ))?,
            Key::Dashed(c) => {
                for dash in [0, 6, 12] {
                    area.draw(&PathElement::new(
                        [(at + dash, row + 7), (at + dash + 3, row + 7)],
                        rgb(c).stroke_width(2),
                    ))?;
                }
            }
        }
        area.draw_text(text, &style, (at + 18, row + 1))?;
        at += w;
    }
    Ok(row + LEGEND_ROW - y)
}

/// Title and subtitle at the top of `area`, from `x`; returns the y below them.
pub fn header(area: &Area, x: i32, title: &str, subtitle: &[&str]) -> Result<i32, DrawError> {
    area.draw_text(title, &bold(17.0, TITLE), (x, 12))?;
    let mut y = 36;
    for line in subtitle {
        area.draw_text(line, &font(12.5, MUTED), (x, y))?;
        y += 17;
    }
    Ok(y + 6)
}

/// A note centred in `area` ("No samples were recorded.").
pub fn centred_note(area: &Area, text: &str) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    let style = anchored(font(13.0, "#718096"), HPos::Center, VPos::Center);
    area.draw_text(text, &style, (w as i32 / 2, h as i32 / 2))
}

/// The two axes of a chart.
#[derive(Clone, Debug)]
pub struct Frame {
    pub x: Axis,
    pub y: Axis,
}

/// Which parts of a chart's mesh are drawn.
#[derive(Clone, Copy, Debug)]
pub struct Mesh {
    /// Horizontal grid lines at the y ticks.
    pub y_grid: bool,
    /// Vertical grid lines at the x ticks.
    pub x_grid: bool,
    /// x tick labels and the x axis title (false: a panel the one below labels).
    pub x_labels: bool,
    /// y tick labels and the y axis title.
    pub y_labels: bool,
}

impl Mesh {
    /// Horizontal grid, both axes labelled: a time series.
    pub const SERIES: Mesh = Mesh {
        y_grid: true,
        x_grid: false,
        x_labels: true,
        y_labels: true,
    };
}

impl Frame {
    /// The integer coordinate of data point (`x`, `y`).
    pub fn at(&self, x: f64, y: f64) -> (i64, i64) {
        (self.x.key(x), self.y.key(y))
    }

    /// A chart filling `area` but for `y_area` px of y labels at the left and `x_area` px of
    /// x labels at the bottom; `right` and `top` px are left free.
    pub fn build<'a, 'b>(
        &self,
        area: &'a Area<'b>,
        (y_area, x_area): (u32, u32),
        (top, right): (u32, u32),
    ) -> Result<Chart<'a, 'b>, DrawError> {
        ChartBuilder::on(area)
            .margin_top(top)
            .margin_right(right)
            .y_label_area_size(y_area)
            .x_label_area_size(x_area)
            .build_cartesian_2d(self.x.range(), self.y.range())
    }

    /// Draws the grid, axes, tick labels and axis titles of `chart`.
    pub fn mesh(&self, chart: &mut Chart, m: Mesh) -> Drawn {
        let x_fmt = |v: &i64| {
            if m.x_labels {
                self.x.label_at(*v)
            } else {
                String::new()
            }
        };
        let y_fmt = |v: &i64| {
            if m.y_labels {
                self.y.label_at(*v)
            } else {
                String::new()
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(TRANSPARENT)
            .bold_line_style(rgb(GRID))
            .axis_style(rgb(INK))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(font(11.0, MUTED))
            .axis_desc_style(font(12.0, INK));
        if !m.x_grid {
            mesh.disable_x_mesh();
        }
        if !m.y_grid {
            mesh.disable_y_mesh();
        }
        if m.x_labels && !self.x.label.is_empty() {
            mesh.x_desc(self.x.label.as_str());
        }
        if m.y_labels && !self.y.label.is_empty() {
            mesh.y_desc(self.y.label.as_str());
        }
        mesh.draw()
    }
}

/// A dashed horizontal line across `chart` at data value `y`.
pub fn hline(chart: &mut Chart, frame: &Frame, y: f64, colour: &str, dash: (u32, u32)) -> Drawn {
    let y = frame.y.key(y);
    let style = rgb(colour).stroke_width(2);
    chart
        .draw_series(DashedLineSeries::new(
            [(frame.x.key(frame.x.min), y), (frame.x.key(frame.x.max), y)],
            dash.0,
            dash.1,
            style,
        ))
        .map(|_| ())
}

/// A dashed vertical line across `chart` at data value `x`.
pub fn vline(chart: &mut Chart, frame: &Frame, x: f64, colour: &str, dash: (u32, u32)) -> Drawn {
    let x = frame.x.key(x);
    let style = rgb(colour).stroke_width(1);
    chart
        .draw_series(DashedLineSeries::new(
            [(x, frame.y.key(frame.y.max)), (x, frame.y.key(frame.y.min))],
            dash.0,
            dash.1,
            style,
        ))
        .map(|_| ())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Checks what every chart must be: well-formed XML with `role="img"` and a title,
    /// no NaN or infinity anywhere, integer coordinates; returns its text contents.
    pub(crate) fn check_svg(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(root.attribute("role"), Some("img"));
        assert!(
            root.first_element_child()
                .is_some_and(|t| t.tag_name().name() == "title"),
            "a <title> first"
        );
        assert!(!svg.contains("NaN"), "NaN in the SVG");
        for n in doc.descendants().filter(|n| n.is_element()) {
            for a in n.attributes() {
                assert!(
                    !a.value().contains("inf") && !a.value().contains("NaN"),
                    "{}={:?}",
                    a.name(),
                    a.value()
                );
            }
            for a in [
                "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height",
            ] {
                if let Some(v) = n.attribute(a) {
                    assert!(v.parse::<i64>().is_ok(), "{a}={v:?} is not an integer");
                }
            }
        }
        doc.descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }

    #[test]
    fn the_post_pass_titles_the_svg_and_tidies_text() {
        let svg = draw((20, 10), "A & B", |_| Ok(()));
        assert!(
            svg.starts_with(
                "<svg width=\"20\" height=\"10\" viewBox=\"0 0 20 10\" \
                 xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" font-family=\"system-ui, \
                 -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif\">\n\
                 <title>A &amp; B</title>\n"
            ),
            "{svg}"
        );
        assert_eq!(svg, draw((20, 10), "A & B", |_| Ok(())));
        assert_eq!(post_pass("no tag", "t"), "no tag");
        let svg = draw((50, 20), "t", |a| {
            a.draw_text("", &font(11.5, INK), (1, 1))?;
            a.draw_text("kept", &font(11.5, INK), (1, 1))
        });
        assert_eq!(svg.matches("<text").count(), 1, "{svg}");
        assert!(svg.contains("font-size=\"11.5\""), "{svg}");
        assert!(
            !svg.contains("\"sans-serif\""),
            "the root's font stack, not plotters' own"
        );
        check_svg(&svg);
        assert_eq!(
            short_font_size("<text font-size=\"11.499999999999998\">"),
            "<text font-size=\"11.5\">"
        );
        assert_eq!(
            short_font_size("<text font-size=\"12\">"),
            "<text font-size=\"12\">"
        );
    }

    #[test]
    fn colours_and_legends() {
        assert_eq!(rgb("#2b6cb0"), RGBColor(0x2b, 0x6c, 0xb0));
        let mut h = (0, 0);
        draw((300, 100), "t", |a| {
            let e = [(Key::Swatch("#000000"), "a long entry"); 6];
            h.0 = legend(a, (0, 0), 300, &e[..1])?;
            h.1 = legend(a, (0, 0), 300, &e)?;
            Ok(())
        });
        assert_eq!(h.0, LEGEND_ROW);
        assert!(h.1 >= 2 * LEGEND_ROW, "six entries wrap: {h:?}");
    }
}
