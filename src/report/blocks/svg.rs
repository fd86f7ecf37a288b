//! The block map's SVG writer: the one chart of the reports not drawn with plotters, because
//! it needs a `<title>` tooltip on each /28 cell (plotters has no element for it).
//!
//! Rectangles and text only. Coordinates are written with at most one decimal, through
//! Rust's locale-free formatting, so the same map always gives the same bytes. Text is left
//! to the viewer's fonts (a system sans-serif stack on the root element); where layout needs
//! a text width it uses [`text_width`], a deliberately generous estimate.

use std::fmt::Write;

use crate::report::format::escape;

pub use crate::report::plot::FONT_FAMILY;

/// Ink colour for text and axes.
pub const INK: &str = "#1f2933";
/// Secondary text colour (tick labels, notes).
pub const MUTED: &str = "#52606d";
/// Horizontal anchoring of a text element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// A text element's look.
#[derive(Clone, Copy, Debug)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
    pub fill: &'static str,
}

impl Font {
    /// Regular text of `size` px in the ink colour.
    pub const fn plain(size: f64) -> Font {
        Font {
            size,
            bold: false,
            fill: INK,
        }
    }
    /// Bold text of `size` px in the ink colour.
    pub const fn bold(size: f64) -> Font {
        Font {
            size,
            bold: true,
            fill: INK,
        }
    }
    /// Regular text of `size` px in the muted colour.
    pub const fn muted(size: f64) -> Font {
        Font {
            size,
            bold: false,
            fill: MUTED,
        }
    }
}

/// An upper estimate of the rendered width of `text` in a sans-serif font of `size` px.
///
/// Average Latin glyphs of common sans-serif fonts are 0.5–0.56 em wide; 0.6 em (0.66 em
/// bold) keeps a margin so legends and labels laid out with it never collide.
pub fn text_width(text: &str, font: Font) -> f64 {
    let per_char = if font.bold { 0.66 } else { 0.6 };
    text.chars().count() as f64 * font.size * per_char
}

/// A coordinate as written: rounded to 0.1, no trailing `.0`, never `-0`. A `Display` value
/// rather than a `String`, so a page of a million cells (ultra-100k's block map) formats each
/// number straight into the document.
pub fn num(x: f64) -> Num {
    // A tenth that rounds to 0 is 0 whatever its sign: `-0.0 as i64` is 0.
    Num(if x.is_finite() {
        (x * 10.0).round() as i64
    } else {
        0
    })
}

/// A coordinate in tenths ([`num`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Num(i64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let t = self.0.unsigned_abs();
        if t.is_multiple_of(10) {
            write!(f, "{sign}{}", t / 10)
        } else {
            write!(f, "{sign}{}.{}", t / 10, t % 10)
        }
    }
}

/// An SVG document being written.
pub struct Svg {
    width: f64,
    height: f64,
    title: String,
    body: String,
}

impl Svg {
    /// Starts a document of `width` × `height` px with an accessible `title`.
    pub fn new(width: f64, height: f64, title: &str) -> Svg {
        Svg {
            width,
            height,
            title: title.to_string(),
            body: String::with_capacity(16 * 1024),
        }
    }

    /// Changes the document's height (for layouts that learn it while drawing).
    pub fn set_height(&mut self, height: f64) {
        self.height = height;
    }

    /// A filled rectangle, optionally outlined.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: Option<&str>) {
        let _ = write!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0)),
        );
        if let Some(s) = stroke {
            let _ = write!(self.body, " stroke=\"{s}\" stroke-width=\"1\"");
        }
        self.body.push_str("/>\n");
    }

    /// A rectangle with a tooltip (`<title>` child), for grid cells and bars.
    pub fn rect_titled(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
            num(x),
            num(y),
            num(w.max(0.0)),
            num(h.max(0.0)),
            escape(tip),
        );
    }

    /// A line of text; `y` is the baseline.
    pub fn text(&mut self, x: f64, y: f64, anchor: Anchor, font: Font, content: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{x}\" y=\"{y}\" font-size=\"{}\" fill=\"{}\"",
            num(font.size),
            font.fill,
            x = num(x),
            y = num(y),
        );
        if anchor != Anchor::Start {
            let _ = write!(self.body, " text-anchor=\"{}\"", anchor.as_str());
        }
        if font.bold {
            self.body.push_str(" font-weight=\"600\"");
        }
        let _ = writeln!(self.body, ">{}</text>", escape(content));
    }

    /// Ends the document and returns its text.
    pub fn finish(self) -> String {
        let mut out = String::with_capacity(self.body.len() + 512);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" role=\"img\" font-family=\"{FONT_FAMILY}\" \
             font-size=\"12\">\n<title>{}</title>\n\
             <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n",
            escape(&self.title),
            w = num(self.width),
            h = num(self.height),
        );
        out.push_str(&self.body);
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_rounded_to_tenths_without_noise() {
        assert_eq!(num(0.0).to_string(), "0");
        assert_eq!(num(-0.04).to_string(), "0");
        assert_eq!(num(12.345).to_string(), "12.3");
        assert_eq!(num(12.96).to_string(), "13");
        assert_eq!(num(-3.25).to_string(), "-3.3");
        assert_eq!(num(f64::NAN).to_string(), "0");
    }

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0, "a<b & \"c\"");
        svg.text(1.0, 2.0, Anchor::End, Font::bold(11.0), "x < y & z\u{1}");
        let s = svg.finish();
        assert!(s.contains("<title>a&lt;b &amp; &quot;c&quot;</title>"));
        assert!(s.contains(">x &lt; y &amp; z</text>"));
        assert!(s.contains("text-anchor=\"end\""));
        assert!(s.ends_with("</svg>\n"));
    }
}
