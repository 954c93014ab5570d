//! `audit show` and `audit report`: the log for people, and a ceremony report for an
//! auditor's file.

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::log::{Entry, Outcome};

/// Entries at or after `since` (RFC 3339) and touching `gun`.
pub fn select<'a>(entries: &'a [Entry], since: Option<&str>, gun: Option<&str>) -> Vec<&'a Entry> {
    let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
    let since = since.map(|t| (t, parse(t)));
    let after = |e: &Entry| match (since, parse(&e.time)) {
        (None, _) => true,
        (Some((_, Some(t))), Some(at)) => at >= t,
        (Some((text, _)), _) => e.time.as_str() >= text,
    };
    entries
        .iter()
        .filter(|e| after(e))
        .filter(|e| gun.is_none_or(|g| e.guns.iter().any(|x| x == g)))
        .collect()
}

/// One line per entry: sequence, time, operator, command, GUNs, outcome.
pub fn table_rows(entries: &[&Entry]) -> Vec<Vec<String>> {
    entries
        .iter()
        .map(|e| {
            let clean = |s: &str| s.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
            vec![
                e.seq.to_string(),
                clean(&e.time),
                clean(&e.operator),
                e.command.clone(),
                clean(&e.guns.join(" ")),
                outcome(e).to_string(),
            ]
        })
        .collect()
}

fn outcome(e: &Entry) -> &'static str {
    match e.outcome {
        Outcome::Ok => "ok",
        Outcome::Refused => "refused",
        Outcome::Failed => "failed",
    }
}

/// What changed, as `gun: role vA -> vB` pieces.
fn changes(e: &Entry) -> Vec<String> {
    let mut out = Vec::new();
    for (gun, after) in &e.versions_after {
        let before = e.versions_before.get(gun);
        for (role, v) in after {
            let old = before.and_then(|b| b.get(role));
            if old != Some(v) {
                let old = old.map_or("new".to_string(), |o| format!("v{o}"));
                out.push(format!("{gun}: {role} {old} -> v{v}"));
            }
        }
    }
    out
}

/// Text made safe for one Markdown table cell: no line breaks, no cell separators, no
/// markup (operator names and arguments are the operator's own text).
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push('\''),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Markdown ceremony report: who, when, where, which keys, which repositories changed how,
/// and whether the log verified.
pub fn markdown(entries: &[&Entry], verified: &str) -> String {
    let mut md_text = String::from("# Ceremony report\n\n");
    let _ = writeln!(md_text, "Audit log: {}\n", md(verified));
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        let _ = writeln!(
            md_text,
            "Entries {} to {}, {} to {}.\n",
            first.seq,
            last.seq,
            md(&first.time),
            md(&last.time)
        );
    }
    let mut people: Vec<String> =
        entries.iter().map(|e| format!("{} on {}", md(&e.operator), md(&e.host))).collect();
    people.sort();
    people.dedup();
    let _ = writeln!(md_text, "Operators: {}\n", people.join(", "));
    md_text.push_str(
        "| # | time (UTC) | operator | command | repositories | keys | bundles | changes \
         | outcome |\n",
    );
    md_text.push_str("|---|---|---|---|---|---|---|---|---|\n");
    for e in entries {
        let bundles = [("in", &e.input_bundle), ("out", &e.output_bundle)]
            .iter()
            .filter_map(|(w, d)| d.as_ref().map(|d| format!("{w} {}", md(&d[..16.min(d.len())]))))
            .collect::<Vec<_>>()
            .join("<br>");
        let keys: Vec<String> = e.key_ids.iter().map(|k| md(&k[..12.min(k.len())])).collect();
        let mut result = outcome(e).to_string();
        if let Some(m) = &e.message {
            result = format!("{result}: {}", md(m));
        }
        let guns: Vec<String> = e.guns.iter().map(|g| md(g)).collect();
        let changes: Vec<String> = changes(e).iter().map(|c| md(c)).collect();
        let _ = writeln!(
            md_text,
            "| {} | {} | {} | airlock {} | {} | {} | {} | {} | {} |",
            e.seq,
            md(&e.time),
            md(&e.operator),
            md(&e.args.join(" ")),
            guns.join("<br>"),
            keys.join("<br>"),
            bundles,
            changes.join("<br>"),
            result
        );
    }
    md_text
}

/// The same report as a self-contained HTML page (text escaped).
pub fn html(entries: &[&Entry], verified: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let mut page = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Ceremony report</title>\
         </head><body>\n<h1>Ceremony report</h1>\n",
    );
    let _ = writeln!(page, "<p>Audit log: {}</p>", esc(verified));
    page.push_str(
        "<table border=\"1\"><tr><th>#</th><th>time (UTC)</th><th>operator</th>\
                   <th>command</th><th>repositories</th><th>keys</th><th>bundles</th>\
                   <th>changes</th><th>outcome</th></tr>\n",
    );
    for e in entries {
        let bundles = [&e.input_bundle, &e.output_bundle].into_iter().flatten().cloned();
        let mut result = outcome(e).to_string();
        if let Some(m) = &e.message {
            result = format!("{result}: {m}");
        }
        let cells = [
            e.seq.to_string(),
            e.time.clone(),
            format!("{} on {}", e.operator, e.host),
            format!("airlock {}", e.args.join(" ")),
            e.guns.join(", "),
            e.key_ids.join(", "),
            bundles.collect::<Vec<_>>().join(", "),
            changes(e).join("; "),
            result,
        ];
        page.push_str("<tr>");
        for c in cells {
            let _ = write!(page, "<td>{}</td>", esc(&c));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n</body></html>\n");
    page
}
