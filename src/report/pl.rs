//! The glue to plotters for the time-series charts: one SVG backend into memory, fonts and
//! colours as the report's style sheet names them, and tick labels from this crate's own
//! axes (explicit key points, so plotters never searches for float ticks).
//!
//! Determinism: plotters is built without its `ttf` and `ab_glyph` features (Cargo.toml), so
//! text is measured by its built-in naive metrics (plain arithmetic, no system fonts), and
//! `plotters-svg` writes integer coordinates; the same data gives the same bytes everywhere
//! (checked by `plots::tests::ips_is_drawn_by_plotters_well_formed_and_byte_stable`).
//!
//! One post-pass ([`draw`]): the opening `<svg>` tag gets `role="img"` and a `<title>` as its
//! first child, as every chart of the report has (screen readers name the figure by it;
//! `tests/report.rs` checks it). plotters has no element for either.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::chart::Axis;

/// A drawing area of the SVG backend.
pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What drawing returns.
pub type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

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
    titled(&out, title)
}

/// The post-pass: `role="img"` on the `<svg>` tag and `<title>` as its first child.
fn titled(svg: &str, title: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let (open, rest) = svg.split_at(end);
    format!(
        "{open} role=\"img\">\n<title>{}</title>{}",
        super::svg::escape(title),
        &rest[1..]
    )
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

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    /// A filled square of this colour.
    Swatch(&'a str),
    /// A short line of this colour.
    Line(&'a str),
}

/// A legend as one row of entries at (`x`, `y`) of `area`, entries spaced by their text's
/// width as plotters measures it.
pub fn legend(area: &Area, x: i32, y: i32, entries: &[(Key, &str)]) -> Drawn {
    let style = font(11.5, "#2d3748");
    let mut at = x;
    for (key, text) in entries {
        match key {
            Key::Swatch(c) => area.draw(&Rectangle::new(
                [(at, y), (at + 12, y + 12)],
                rgb(c).filled(),
            ))?,
            Key::Line(c) => area.draw(&PathElement::new(
                [(at, y + 6), (at + 14, y + 6)],
                rgb(c).stroke_width(2),
            ))?,
        }
        area.draw_text(text, &style, (at + 18, y))?;
        let (w, _) = area.estimate_text_size(text, &style)?;
        at += 18 + w as i32 + 22;
    }
    Ok(())
}

/// The label of the tick of `axis` at `v` (data units); empty off the ticks.
pub fn tick_label(axis: &Axis, v: f64) -> String {
    axis.ticks
        .iter()
        .find(|(t, _)| (t - v).abs() < 1e-6 * t.abs().max(1.0))
        .map(|(_, l)| l.clone())
        .unwrap_or_default()
}

/// Title and subtitle at the top of `area`.
pub fn header(area: &Area, title: &str, subtitle: &str) -> Drawn {
    area.draw_text(title, &bold(17.0, "#1a202c"), (24, 12))?;
    area.draw_text(subtitle, &font(12.5, "#4a5568"), (24, 36))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_pass_titles_the_svg() {
        let svg = draw((20, 10), "A & B", |_| Ok(()));
        assert!(
            svg.starts_with(
                "<svg width=\"20\" height=\"10\" viewBox=\"0 0 20 10\" \
                 xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n<title>A &amp; B</title>\n"
            ),
            "{svg}"
        );
        assert_eq!(svg, draw((20, 10), "A & B", |_| Ok(())));
        assert_eq!(titled("no tag", "t"), "no tag");
    }

    #[test]
    fn colours_and_ticks() {
        assert_eq!(rgb("#2b6cb0"), RGBColor(0x2b, 0x6c, 0xb0));
        let axis = super::super::chart::value_axis(100.0, true, "n");
        assert_eq!(tick_label(&axis, 0.0), "0");
        assert_eq!(tick_label(&axis, 1.5), "");
    }
}
