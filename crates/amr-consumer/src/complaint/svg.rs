//! Server-rendered SVG charts (bar and line) for the officers' dashboard: no script, a
//! `<title>` and `<desc>` named by `aria-labelledby`, every value also in a `<title>` of its
//! mark (a tooltip and a screen-reader label); the page puts a table of the same figures
//! beside each chart. Text is escaped here, the markup is emitted as safe.

use std::fmt::Write;

/// One series: its name, a value per label, its colour.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    pub colour: &'static str,
}

/// The palette (distinguishable in grey scale too: dark, mid, light).
pub const COLOURS: [&str; 3] = ["#1f4e79", "#c0504d", "#9bbb59"];

const W: f64 = 640.0;
const H: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for XML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// A "nice" upper bound for the axis (1, 2 or 5 times a power of ten).
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= max {
            return m * p;
        }
    }
    10.0 * p
}

fn open(id: &str, title: &str, desc: &str) -> String {
    let id = esc(id);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" viewBox=\"0 0 {W} {H}\" \
         role=\"img\" aria-labelledby=\"{id}-t {id}-d\" font-size=\"11\" font-family=\"sans-serif\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(desc)
    )
}

fn axes(out: &mut String, labels: &[String], max: f64) {
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            num(v)
        );
    }
    let n = labels.len().max(1) as f64;
    let step = (W - LEFT - RIGHT) / n;
    // At most 12 labels on the axis; the table has them all.
    let every = labels.len().div_ceil(12).max(1);
    for (i, l) in labels.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let x = LEFT + step * (i as f64 + 0.5);
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM + 14.0,
            esc(l)
        );
    }
}

fn legend(out: &mut String, series: &[Series]) {
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"17\">{}</text>",
            s.colour,
            x + 14.0,
            esc(&s.name)
        );
        x += 24.0
            + 7.0
                * s.name
                    .chars()
                    .map(|c| if c.is_ascii() { 1.0 } else { 1.8 })
                    .sum::<f64>();
    }
}

/// Grouped bars: one group per label, one bar per series.
pub fn bar_chart(
    id: &str,
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[Series],
) -> String {
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let mut out = open(id, title, desc);
    axes(&mut out, labels, max);
    legend(&mut out, series);
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1) as f64;
    let step = (W - LEFT - RIGHT) / n;
    let k = series.len().max(1) as f64;
    let bar = (step * 0.8 / k).max(1.0);
    for (si, s) in series.iter().enumerate() {
        for (i, v) in s.values.iter().enumerate() {
            let h = if max > 0.0 {
                plot_h * v.max(0.0) / max
            } else {
                0.0
            };
            let x = LEFT + step * i as f64 + step * 0.1 + bar * si as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{}\">\
                 <title>{} {}: {}</title></rect>",
                TOP + plot_h - h,
                s.colour,
                esc(labels.get(i).map(String::as_str).unwrap_or("")),
                esc(&s.name),
                num(*v)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// Lines with a dot per value; a missing value (`NaN`) breaks the line.
pub fn line_chart(
    id: &str,
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[Series],
) -> String {
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    );
    let mut out = open(id, title, desc);
    axes(&mut out, labels, max);
    legend(&mut out, series);
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1) as f64;
    let step = (W - LEFT - RIGHT) / n;
    for s in series {
        let mut path = String::new();
        let mut pen_down = false;
        let mut dots = String::new();
        for (i, v) in s.values.iter().enumerate() {
            if !v.is_finite() {
                pen_down = false;
                continue;
            }
            let x = LEFT + step * (i as f64 + 0.5);
            let y = TOP + plot_h - plot_h * v.max(0.0) / max;
            let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
            pen_down = true;
            let _ = write!(
                dots,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"><title>{} {}: {}</title></circle>",
                s.colour,
                esc(labels.get(i).map(String::as_str).unwrap_or("")),
                esc(&s.name),
                num(*v)
            );
        }
        if !path.is_empty() {
            let _ = write!(
                out,
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                path.trim_end(),
                s.colour
            );
        }
        out.push_str(&dots);
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_chart_is_labelled_escaped_and_scaled() {
        let labels = vec!["2026-09".to_string(), "<b>".to_string()];
        let svg = bar_chart(
            "v",
            "受理量 & 办结量",
            "每月",
            &labels,
            &[Series {
                name: "收到".into(),
                values: vec![10.0, 5.0],
                colour: COLOURS[0],
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("aria-labelledby=\"v-t v-d\""));
        assert!(svg.contains("<title id=\"v-t\">受理量 &amp; 办结量</title>"));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        // 10 is the axis maximum: its bar fills the plot height.
        assert!(
            svg.contains(&format!("height=\"{:.1}\"", H - TOP - BOTTOM)),
            "{svg}"
        );
        assert!(svg.contains("<title>2026-09 收到: 10</title>"));
    }

    #[test]
    fn a_line_breaks_at_a_missing_value() {
        let labels: Vec<String> = (1..=3).map(|i| format!("m{i}")).collect();
        let svg = line_chart(
            "l",
            "t",
            "d",
            &labels,
            &[Series {
                name: "a".into(),
                values: vec![1.0, f64::NAN, 3.0],
                colour: COLOURS[1],
            }],
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        let d = svg
            .split("<path d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert!(!d.contains('L'), "{d}");
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(450.0), 500.0);
    }
}
