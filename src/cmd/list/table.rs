//! The text tables of `pgw list`, laid out to a width or to their content.
//!
//! On a terminal a table fits its width: columns are dropped by priority
//! when the flexible ones would get too narrow, a flexible column wraps only
//! between its parts (whole labels, whole words), and a part wider than its
//! column is cut with `…` instead of being broken over lines. Without a
//! width (a pipe, a file), every row is one line, columns padded only to
//! their widest value and no line ends in blanks, as `kubectl get` and
//! `docker ps` print: `less`, `head` and `awk -F '  +'` see one group a line.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a column treats content wider than the width it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    /// Never narrower than its content: an age or a status broken over
    /// lines or cut is unreadable.
    Whole,
    /// One line, cut with `…` (a job or metric name).
    Cut,
    /// Wraps between its parts; a part wider than the column is cut.
    Wrap,
}

/// One column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) header: &'static str,
    pub(crate) right: bool,
    pub(crate) fit: Fit,
    /// The width a `Cut` or `Wrap` column should keep before lower-priority
    /// columns go (capped at its content's width)...
    pub(crate) want: usize,
    /// ...and the least it gets once none is left to drop.
    pub(crate) floor: usize,
    /// When the width is short, columns with a rank go, lowest first.
    pub(crate) drop: Option<u8>,
}

impl Column {
    pub(crate) fn whole(header: &'static str) -> Column {
        Column {
            header,
            right: false,
            fit: Fit::Whole,
            want: 0,
            floor: 0,
            drop: None,
        }
    }

    pub(crate) fn cut(header: &'static str, want: usize, floor: usize) -> Column {
        Column {
            fit: Fit::Cut,
            want,
            floor,
            ..Column::whole(header)
        }
    }

    pub(crate) fn wrap(header: &'static str, want: usize, floor: usize) -> Column {
        Column {
            fit: Fit::Wrap,
            want,
            floor,
            ..Column::whole(header)
        }
    }

    pub(crate) fn right(self) -> Column {
        Column {
            right: true,
            ..self
        }
    }

    pub(crate) fn drop(self, rank: u8) -> Column {
        Column {
            drop: Some(rank),
            ..self
        }
    }
}

/// A colour for a cell on a terminal that takes colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Green,
    Red,
}

/// A cell: its parts (joined by one space; a `Wrap` column breaks between
/// them) and an optional colour.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    /// The parts joined by one space, as a line without a limit shows
    /// them. Most cells have one part, so most cells are one allocation.
    text: String,
    /// Where in `text` each part but the last ends (none for one part).
    ends: Vec<usize>,
    color: Option<Color>,
    /// Its width on one line and its widest part's, measured once: the
    /// layout asks for both of every cell, in every column, on every try.
    width: usize,
    widest: usize,
}

impl Cell {
    pub(crate) fn new(text: impl Into<String>) -> Cell {
        let text = text.into();
        let w = width(&text);
        Cell {
            text,
            ends: Vec::new(),
            color: None,
            width: w,
            widest: w,
        }
    }

    pub(crate) fn parts(mut parts: Vec<String>) -> Cell {
        if parts.len() <= 1 {
            return Cell::new(parts.pop().unwrap_or_default());
        }
        let mut cell = Cell::new(parts.join(" "));
        cell.widest = parts.iter().map(|p| width(p)).max().unwrap_or(0);
        let mut end = 0;
        for p in &parts[..parts.len() - 1] {
            end += p.len();
            cell.ends.push(end);
            end += 1;
        }
        cell
    }

    pub(crate) fn color(self, color: Color) -> Cell {
        Cell {
            color: Some(color),
            ..self
        }
    }

    /// The parts, in order.
    fn each_part(&self) -> impl Iterator<Item = &str> {
        let mut start = 0;
        self.ends
            .iter()
            .copied()
            .chain([self.text.len()])
            .map(move |end| {
                let part = &self.text[start..end];
                start = end + 1;
                part
            })
    }

    /// The cell's lines at `w` columns for a column that fits as `fit`.
    fn lines(&self, fit: Fit, w: usize) -> Vec<String> {
        match fit {
            Fit::Whole => return vec![self.text.clone()],
            Fit::Cut => return vec![cut(&self.text, w)],
            Fit::Wrap => {}
        }
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for part in self.each_part() {
            let part = cut(part, w);
            if !line.is_empty() && width(&line) + 1 + width(&part) > w {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&part);
        }
        lines.push(line);
        lines
    }
}

/// Gap between columns.
const GAP: usize = 2;

/// The width of `text` on a terminal: most characters take one column,
/// East Asian wide ones two, combining marks none.
pub(crate) fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` in at most `w` columns, its end replaced by `…` (one column) if
/// it is wider. A wide character that would straddle the edge goes too.
pub(crate) fn cut(text: &str, w: usize) -> String {
    if width(text) <= w {
        return text.to_string();
    }
    let room = w.saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in text.chars() {
        let cw = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw > room {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// A table to lay out.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(crate) fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// The widest content of column `i`, header included.
    fn natural(&self, i: usize) -> usize {
        let cells = self.rows.iter().map(|r| r[i].width);
        cells
            .chain([width(self.columns[i].header)])
            .max()
            .unwrap_or(0)
    }

    /// The width column `i` needs to cut nothing: a `Cut` column its
    /// content's, a `Wrap` column its widest part's.
    fn whole_parts(&self, i: usize) -> usize {
        match self.columns[i].fit {
            Fit::Wrap => self
                .rows
                .iter()
                .map(|r| r[i].widest)
                .chain([width(self.columns[i].header)])
                .max()
                .unwrap_or(0),
            _ => self.natural(i),
        }
    }

    /// The columns shown and their widths, to fit `limit` columns.
    ///
    /// Columns that can neither wrap nor be cut get their content's width.
    /// Lower-ranked columns go while the flexible ones would get less than
    /// they `want` (or need to cut nothing, if less). The flexible ones then
    /// get, in the first way that fits: what cuts nothing; what they want;
    /// their floors. What is left goes first to avoiding cuts, then to
    /// fewer wrapped lines.
    fn layout(&self, limit: Option<usize>) -> Vec<(usize, usize)> {
        let n = self.columns.len();
        let natural: Vec<usize> = (0..n).map(|i| self.natural(i)).collect();
        let mut shown: Vec<usize> = (0..n).collect();
        let Some(limit) = limit else {
            return shown.iter().map(|&i| (i, natural[i])).collect();
        };
        let uncut: Vec<usize> = (0..n).map(|i| self.whole_parts(i)).collect();
        let flexible = |i: usize| self.columns[i].fit != Fit::Whole;
        // What the flexible columns get once the others have theirs.
        let room = |shown: &[usize]| {
            let whole: usize = shown
                .iter()
                .filter(|&&i| !flexible(i))
                .map(|&i| natural[i])
                .sum();
            limit.saturating_sub(whole + GAP * shown.len().saturating_sub(1))
        };
        let wants = |shown: &[usize], least: &dyn Fn(usize) -> usize| -> Vec<usize> {
            shown
                .iter()
                .map(|&i| if flexible(i) { least(i) } else { natural[i] })
                .collect()
        };
        let flex_sum = |shown: &[usize], widths: &[usize]| -> usize {
            shown
                .iter()
                .zip(widths)
                .filter(|(&i, _)| flexible(i))
                .map(|(_, w)| w)
                .sum()
        };
        let want = |i: usize| uncut[i].min(self.columns[i].want);
        while flex_sum(&shown, &wants(&shown, &want)) > room(&shown) {
            let next = shown
                .iter()
                .enumerate()
                .filter_map(|(at, &i)| self.columns[i].drop.map(|rank| (rank, at)))
                .min();
            match next {
                Some((_, at)) => {
                    shown.remove(at);
                }
                None => break,
            }
        }
        let room = room(&shown);
        let floor = |i: usize| uncut[i].min(self.columns[i].floor);
        let whole = |i: usize| uncut[i];
        let tries: [&dyn Fn(usize) -> usize; 3] = [&whole, &want, &floor];
        let mut widths = tries
            .into_iter()
            .map(|least| wants(&shown, least))
            .find(|w| flex_sum(&shown, w) <= room)
            .unwrap_or_else(|| wants(&shown, &floor));
        let mut left = room.saturating_sub(flex_sum(&shown, &widths));
        for upto in [&uncut, &natural] {
            while left > 0 {
                let mut gave = false;
                for (at, &i) in shown.iter().enumerate() {
                    if left > 0 && flexible(i) && widths[at] < upto[i] {
                        widths[at] += 1;
                        left -= 1;
                        gave = true;
                    }
                }
                if !gave {
                    break;
                }
            }
        }
        shown.into_iter().zip(widths).collect()
    }

    /// The table as text, each line ending in a newline and never in a
    /// blank; `limit` is the terminal's width, `None` for no limit.
    pub(crate) fn render(&self, limit: Option<usize>, color: bool) -> String {
        let layout = self.layout(limit);
        let mut out = String::new();
        let header: Vec<Cell> = self.columns.iter().map(|c| Cell::new(c.header)).collect();
        self.render_row(&mut out, &header, &layout, limit.is_some(), color, true);
        for row in &self.rows {
            self.render_row(&mut out, row, &layout, limit.is_some(), color, false);
        }
        out
    }

    fn render_row(
        &self,
        out: &mut String,
        row: &[Cell],
        layout: &[(usize, usize)],
        limited: bool,
        color: bool,
        header: bool,
    ) {
        let code = |i: usize| paint_code(if header { None } else { row[i].color }, header, color);
        if !limited {
            // Every cell is one line: write it straight out, the way a
            // 10,000-group listing into a pipe wants it.
            let start = out.len();
            for (at, &(i, w)) in layout.iter().enumerate() {
                let cell = &row[i];
                self.put(out, at, i, w.saturating_sub(cell.width), code(i), |out| {
                    out.push_str(&cell.text)
                });
            }
            end_line(out, start);
            return;
        }
        let cells: Vec<Vec<String>> = layout
            .iter()
            .map(|&(i, w)| row[i].lines(self.columns[i].fit, w))
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for n in 0..height {
            let start = out.len();
            for (at, &(i, w)) in layout.iter().enumerate() {
                let text = cells[at].get(n).map_or("", String::as_str);
                self.put(out, at, i, w.saturating_sub(width(text)), code(i), |out| {
                    out.push_str(text)
                });
            }
            end_line(out, start);
        }
    }

    /// One cell of a line: the gap before it (unless it is the first shown,
    /// `at` 0), its `fill` of padding on the side its column keeps free, and
    /// the text `write` puts, painted with `code`.
    fn put(
        &self,
        out: &mut String,
        at: usize,
        i: usize,
        fill: usize,
        code: Option<&str>,
        write: impl FnOnce(&mut String),
    ) {
        if at > 0 {
            spaces(out, GAP);
        }
        let right = self.columns[i].right;
        if right {
            spaces(out, fill);
        }
        painted(out, code, write);
        if !right {
            spaces(out, fill);
        }
    }
}

/// `n` blanks, pushed as slices of a run of them: a 10,000-row table pads
/// every cell, and pushing one `char` at a time measured slower.
fn spaces(out: &mut String, mut n: usize) {
    const BLANKS: &str = "                                ";
    while n > 0 {
        let k = n.min(BLANKS.len());
        out.push_str(&BLANKS[..k]);
        n -= k;
    }
}

/// Ends the line begun at `start`, without the blanks padding left at its end.
fn end_line(out: &mut String, start: usize) {
    let kept = out[start..].trim_end().len();
    out.truncate(start + kept);
    out.push('\n');
}

/// The ANSI code for a cell when colour is `enabled`: its colour, or bold
/// for a header.
fn paint_code(color: Option<Color>, bold: bool, enabled: bool) -> Option<&'static str> {
    if !enabled {
        return None;
    }
    match (color, bold) {
        (Some(Color::Green), _) => Some("32"),
        (Some(Color::Red), _) => Some("31"),
        (None, true) => Some("1"),
        (None, false) => None,
    }
}

/// What `write` puts, wrapped in the ANSI `code` and its reset; an empty
/// text stays bare, so no line ends in escapes that paint nothing.
fn painted(out: &mut String, code: Option<&str>, write: impl FnOnce(&mut String)) {
    let Some(code) = code else {
        return write(out);
    };
    let start = out.len();
    out.push_str("\x1b[");
    out.push_str(code);
    out.push('m');
    let text = out.len();
    write(out);
    if out.len() == text {
        out.truncate(start);
    } else {
        out.push_str("\x1b[0m");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(vec![
            Column::cut("JOB", 12, 8),
            Column::wrap("LABELS", 20, 12),
            Column::whole("N").right(),
            Column::whole("EXTRA").drop(1),
        ]);
        t.row(vec![
            Cell::new("ci"),
            Cell::parts(vec![
                "branch=feature/very-long-branch-name".into(),
                "instance=web-10".into(),
                "zone=eu".into(),
            ]),
            Cell::new("12"),
            Cell::new("xxxxxxxxxx"),
        ]);
        t.row(vec![
            Cell::new("a-rather-long-job-name"),
            Cell::new("-"),
            Cell::new("3"),
            Cell::new("y").color(Color::Red),
        ]);
        t
    }

    #[test]
    fn without_a_limit_every_row_is_one_line_with_no_trailing_blank() {
        let text = table().render(None, false);
        let expected = "\
JOB                     LABELS                                                         N  EXTRA
ci                      branch=feature/very-long-branch-name instance=web-10 zone=eu  12  xxxxxxxxxx
a-rather-long-job-name  -                                                              3  y
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn a_limit_wraps_between_parts_cuts_long_parts_and_drops_by_rank() {
        let text = table().render(Some(40), false);
        let expected = "\
JOB            LABELS                  N
ci             branch=feature/very-…  12
               instance=web-10
               zone=eu
a-rather-lon…  -                       3
";
        assert_eq!(text, expected, "\n{text}");
        assert!(text.lines().all(|l| width(l) <= 40));
        // Narrower: the job is cut too, down to its floor.
        let text = table().render(Some(30), false);
        assert!(text.lines().all(|l| width(l) <= 30), "\n{text}");
        assert!(text.contains("a-rathe"), "\n{text}");
        // Wide enough: nothing dropped, one line each.
        let text = table().render(Some(200), false);
        assert_eq!(text, table().render(None, false));
    }

    #[test]
    fn wide_characters_count_two_columns() {
        assert_eq!(width("東京-2"), 6);
        assert_eq!(cut("東京都の店舗", 6), "東京…");
        assert_eq!(width(&cut("東京都の店舗", 6)), 5);
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("東京", 4), "東京");
    }

    #[test]
    fn colour_does_not_count_in_the_width() {
        let text = table().render(Some(200), true);
        assert!(text.starts_with("\x1b[1mJOB\x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[31my\x1b[0m"), "{text:?}");
        let plain = text
            .replace("\x1b[1m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, table().render(None, false));
    }

    #[test]
    fn cut_marks_what_it_removes() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        assert_eq!(cut("Προμηθεύς", 4), "Προ…");
    }
}
