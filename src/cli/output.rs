//! Tables as Notary prints them (Go's tabwriter, padding 4) and JSON output.

use std::io::{self, Write};

use serde::Serialize;

/// Writes rows like Go's `tabwriter` with padding 4: every cell but the last of a line is
/// padded to its column's widest cell plus four spaces.
pub fn table(out: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let dashes: Vec<String> = header.iter().map(|h| "-".repeat(h.len())).collect();
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect(), dashes];
    all.extend(rows.iter().cloned());

    let columns = all.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in &all {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }

    writeln!(out)?;
    for row in &all {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] + 4 - cell.chars().count()));
            }
        }
        writeln!(out, "{line}")?;
    }
    writeln!(out)
}

/// One line of data on stdout. Unlike `println!`, a closed stdout is an error to report
/// (a broken pipe ends the command quietly), never a panic.
pub fn line(args: std::fmt::Arguments) -> Result<(), crate::ops::OpsError> {
    writeln!(io::stdout().lock(), "{args}")
        .map_err(|source| crate::ops::OpsError::Io { path: "<stdout>".into(), source })
}

/// Pretty JSON of `value` on stdout.
pub fn json<T: Serialize>(value: &T) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    serde_json::to_writer_pretty(&mut stdout, value).map_err(io::Error::other)?;
    writeln!(stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_notary_delegation_list_layout() {
        let id = "e7a1eb2c7d6844d770dee345c7087980687183bd94238410605cccd57258bcad".to_string();
        let rows = vec![
            vec!["targets/releases".into(), "\"\" <all paths>".into(), id.clone(), "1".into()],
            vec!["".into(), "".into(), id.clone(), "".into()],
        ];
        let mut out = Vec::new();
        table(&mut out, &["ROLE", "PATHS", "KEY IDS", "THRESHOLD"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = format!(
            "\nROLE                PATHS             KEY IDS{}THRESHOLD\n\
             ----                -----             -------{}---------\n\
             targets/releases    \"\" <all paths>    {id}    1\n\
             {}{id}    \n\n",
            " ".repeat(61),
            " ".repeat(61),
            " ".repeat(38)
        );
        assert_eq!(text, expected);
    }
}
