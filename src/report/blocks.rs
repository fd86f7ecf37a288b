//! `blocks.svg`: each subnet's /28 blocks as a grid, coloured by state (DESIGN.md §5), at
//! the first `InsufficientCidrBlocks` (when there was one) and at the end of the run.
//!
//! A /28 is the unit of prefix delegation: a prefix needs an aligned block whose 16
//! addresses are all free. The grid shows why `InsufficientCidrBlocks` can happen with
//! thousands of addresses free: single addresses scattered across the blocks (fragmented)
//! leave no block whole. One row is a /24 (16 blocks) for subnets up to /21, then wider rows
//! (32 or 64 blocks) so that a /16 still fits.

mod svg;

use super::format::{group_thousands, human_time};
use super::{BlockMap, BlockState, RunOutput};
use crate::subnet::Ipv4Cidr;
use svg::{Anchor, Font, Svg, text_width};

/// Colour of each state, in legend order.
const STATES: [(BlockState, &str, &str); 5] = [
    (BlockState::Free, "#74c476", "Free"),
    (
        BlockState::Fragmented,
        "#fd8d3c",
        "Fragmented (partly used)",
    ),
    (BlockState::Full, "#6a51a3", "Full (16 single IPs)"),
    (BlockState::Prefix, "#3182bd", "Prefix (delegated /28)"),
    (BlockState::Reserved, "#bdbdbd", "Reserved"),
];

fn colour(s: BlockState) -> &'static str {
    STATES.iter().find(|e| e.0 == s).map_or("#000000", |e| e.1)
}

fn state_name(s: BlockState) -> &'static str {
    match s {
        BlockState::Free => "free",
        BlockState::Fragmented => "fragmented",
        BlockState::Full => "full",
        BlockState::Prefix => "prefix",
        BlockState::Reserved => "reserved",
    }
}

/// Blocks per grid row for a subnet of `n` blocks.
fn columns(n: usize) -> usize {
    match n {
        0..=512 => 16,
        513..=2048 => 32,
        _ => 64,
    }
}

fn dotted(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

const CELL_GAP_LIMIT: usize = 1024;
const PANEL_W: f64 = 410.0;
const LABEL_W: f64 = 92.0;

/// Width of one panel when it has the row to itself.
const WIDE_PANEL_W: f64 = 2.0 * PANEL_W + 24.0;
/// Tallest grid, px.
const MAX_GRID_H: f64 = 480.0;

/// Columns, rows and cell size (px) of the grid of `n` blocks in a panel `width` wide.
fn grid_geometry(n: usize, width: f64) -> (usize, usize, f64) {
    let cols = columns(n);
    let rows = n.div_ceil(cols).max(1);
    let cell = ((width - LABEL_W) / cols as f64)
        .min(MAX_GRID_H / rows as f64)
        .min(20.0)
        .floor()
        .max(3.0);
    (cols, rows, cell)
}

/// Draws one block map, `width` wide, with its caption at (`x`, `y`); returns the height
/// used.
fn panel(svg: &mut Svg, x: f64, y: f64, width: f64, caption: &str, map: &BlockMap) -> f64 {
    let n = map.blocks.len();
    let (cols, rows, cell) = grid_geometry(n, width);
    svg.text(x, y + 14.0, Anchor::Start, Font::bold(13.0), caption);
    let mut counts = [0usize; 5];
    for b in &map.blocks {
        counts[STATES.iter().position(|e| e.0 == *b).unwrap_or(0)] += 1;
    }
    let tally = STATES
        .iter()
        .zip(counts)
        .map(|(e, c)| format!("{} {}", group_thousands(&c.to_string()), state_name(e.0)))
        .collect::<Vec<_>>()
        .join(" · ");
    svg.text(x, y + 31.0, Anchor::Start, Font::muted(11.5), &tally);

    let gy = y + 42.0;
    let gx = x + LABEL_W;
    let base = map.cidr.addr();
    let tips = n <= CELL_GAP_LIMIT;
    let gap = if tips { 1.0 } else { 0.0 };
    let label_every = if rows > 32 { rows.div_ceil(16) } else { 1 };
    for r in 0..rows {
        let ry = gy + r as f64 * cell;
        if r % label_every == 0 {
            let label = dotted(base.wrapping_add((r * cols * 16) as u32));
            svg.text(
                gx - 6.0,
                ry + cell / 2.0 + 4.0,
                Anchor::End,
                Font::muted(10.5_f64.min(cell.max(9.0))),
                &label,
            );
        }
        let row = &map.blocks[r * cols..((r + 1) * cols).min(n)];
        if tips {
            for (c, b) in row.iter().enumerate() {
                let tip = format!(
                    "{}: {}",
                    Ipv4Cidr::prefix28(base.wrapping_add(((r * cols + c) * 16) as u32)),
                    state_name(*b)
                );
                svg.rect_titled(
                    gx + c as f64 * cell,
                    ry,
                    cell - gap,
                    cell - gap,
                    colour(*b),
                    &tip,
                );
            }
        } else {
            // Large subnets: one rectangle per run of equal states keeps the file small.
            let mut c = 0;
            while c < row.len() {
                let mut e = c + 1;
                while e < row.len() && row[e] == row[c] {
                    e += 1;
                }
                svg.rect(
                    gx + c as f64 * cell,
                    ry,
                    (e - c) as f64 * cell,
                    cell,
                    colour(row[c]),
                    None,
                );
                c = e;
            }
        }
    }
    42.0 + rows as f64 * cell
}

/// The states' colour swatches from (`x`, `y`) (top-left), wrapping within `width`.
/// Returns the height used.
fn legend(svg: &mut Svg, x: f64, y: f64, width: f64) -> f64 {
    let font = Font::plain(12.0);
    let row_h = 18.0;
    let (mut cx, mut cy) = (x, y);
    for (_, fill, label) in STATES {
        let w = 22.0 + text_width(label, font) + 18.0;
        if cx > x && cx + w > x + width {
            cx = x;
            cy += row_h;
        }
        let mid = cy + 9.0;
        svg.rect(cx, mid - 6.0, 14.0, 12.0, fill, None);
        svg.text(cx + 22.0, mid + 4.0, Anchor::Start, font, label);
        cx += w;
    }
    cy + row_h - y
}

/// `blocks.svg` for the run: for each subnet, the grid at the first
/// `InsufficientCidrBlocks` (left, when there was one) and at the end of the run (right).
pub fn blocks_svg(run: &RunOutput) -> String {
    let width = 2.0 * PANEL_W + 60.0;
    let mut svg = Svg::new(width, 200.0, "The subnet's /28 blocks by state");
    svg.text(
        24.0,
        28.0,
        Anchor::Start,
        Font::bold(17.0),
        "The subnet's /28 blocks",
    );
    svg.text(
        24.0,
        48.0,
        Anchor::Start,
        Font::muted(12.5),
        "A prefix needs a free, aligned /28. Scattered single addresses fragment blocks and cause InsufficientCidrBlocks.",
    );
    let lh = legend(&mut svg, 24.0, 60.0, width - 48.0);
    let mut y = 60.0 + lh + 16.0;
    if run.blocks_final.is_empty() {
        svg.text(
            width / 2.0,
            y + 30.0,
            Anchor::Middle,
            Font::muted(13.0),
            "No block map was recorded.",
        );
    }
    for m in &run.blocks_final {
        let heading = format!("Subnet {} ({})", m.subnet, m.cidr);
        if run.blocks_final.len() > 1 || !m.subnet.is_empty() {
            svg.text(24.0, y + 14.0, Anchor::Start, Font::bold(14.0), &heading);
            y += 24.0;
        }
        let first = run
            .blocks_first_insufficient
            .as_ref()
            .and_then(|v| v.iter().find(|f| f.subnet == m.subnet));
        let end_caption = format!("End of run ({})", human_time(m.time_s));
        let h = match first {
            Some(f) => {
                let cap = format!(
                    "At the first InsufficientCidrBlocks ({})",
                    human_time(f.time_s)
                );
                let h1 = panel(&mut svg, 24.0, y, PANEL_W, &cap, f);
                let x2 = 24.0 + PANEL_W + 24.0;
                let h2 = panel(&mut svg, x2, y, PANEL_W, &end_caption, m);
                h1.max(h2)
            }
            None => {
                let cap = format!("{end_caption} — no InsufficientCidrBlocks in this subnet");
                panel(&mut svg, 24.0, y, WIDE_PANEL_W, &cap, m)
            }
        };
        y += h + 30.0;
    }
    svg.set_height(if run.blocks_final.is_empty() {
        y + 60.0
    } else {
        y - 10.0
    });
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_dotted() {
        assert_eq!(dotted(0x0a00_0810), "10.0.8.16");
    }

    #[test]
    fn grids_fit_every_subnet_size() {
        for prefix in 16..=28u32 {
            let n = 1usize << (28 - prefix);
            for width in [PANEL_W, WIDE_PANEL_W] {
                let (cols, rows, cell) = grid_geometry(n, width);
                assert!(cols * rows >= n);
                assert!(LABEL_W + cols as f64 * cell <= width, "/{prefix}");
                assert!(rows as f64 * cell <= MAX_GRID_H, "/{prefix}");
            }
            let (_, rows, _) = grid_geometry(n, PANEL_W);
            assert!(rows <= 64, "/{prefix}");
        }
    }

    #[test]
    fn every_block_is_drawn_with_its_state() {
        let states = [
            BlockState::Reserved,
            BlockState::Free,
            BlockState::Fragmented,
            BlockState::Full,
            BlockState::Prefix,
        ];
        let map = BlockMap {
            subnet: "pods".into(),
            cidr: "10.0.0.0/24".parse().unwrap(),
            time_s: 60.0,
            blocks: (0..16).map(|i| states[i % 5]).collect(),
        };
        let run = RunOutput {
            blocks_final: vec![map],
            ..RunOutput::default()
        };
        let svg = blocks_svg(&run);
        assert_eq!(
            svg.matches("<rect").count() - 1 - 5,
            16,
            "background + legend + cells"
        );
        assert!(svg.contains("<title>10.0.0.16/28: free</title>"));
        assert!(svg.contains("<title>10.0.0.240/28: reserved</title>"));
        assert!(svg.contains("3 free · 3 fragmented · 3 full · 3 prefix · 4 reserved"));
        assert!(svg.contains("no InsufficientCidrBlocks in this subnet"));
    }
}
