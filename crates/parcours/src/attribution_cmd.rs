//! `parcours attribution`: which touches deserve the credit for the conversions, from a
//! data directory, an events file, or a file of paths in ChannelAttribution's format.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use parcours_core::attribution::{attribute, AttributionReport, PathSet, PathTouch};

use crate::journey_cmd::{FrameSource, OutputFormat};
use crate::requests::AttributionRequest;
use parcours_store::Store;

#[derive(Args, Debug)]
pub struct AttributionArgs {
    #[command(flatten)]
    pub source: FrameSource,
    /// Attribute the paths of this file instead of events: CSV with `path` (touches
    /// separated by `--path-separator`), `total_conversions`, and optionally
    /// `total_conversion_value` and `total_null` (ChannelAttribution's format; `;` or `,`).
    #[arg(long, conflicts_with_all = ["input", "journey"])]
    pub paths: Option<PathBuf>,
    /// The separator between touches in `--paths`.
    #[arg(long, default_value = ">")]
    pub path_separator: String,
    /// Conversion event names, comma-separated.
    #[arg(long)]
    pub conversion: Option<String>,
    /// A journey file (TOML) whose `--stage` completions are the conversions.
    #[arg(long, requires = "stage")]
    pub journey: Option<PathBuf>,
    /// The converting stage of `--journey`: its name or 1-based number.
    #[arg(long, requires = "journey")]
    pub stage: Option<String>,
    /// What a touch is: `channel`, `campaign`, `touchpoint` or `property:KEY`.
    #[arg(long, default_value = "channel")]
    pub touch: String,
    /// Models, comma-separated, or `all`: first, last, last_non_direct, linear,
    /// time_decay, position, j_shaped, inverse_j, w_shaped, custom, markov, shapley.
    #[arg(long, default_value = "first,last,linear,markov")]
    pub models: String,
    /// Touches older than this before the conversion do not count.
    #[arg(long, default_value = "30d")]
    pub lookback: String,
    /// Half-life of the time-decay model.
    #[arg(long, default_value = "7d")]
    pub half_life: String,
    /// Weights of the custom model: `first,middle,last`, summing to 1.
    #[arg(long)]
    pub weights: Option<String>,
    /// Order of the Markov chain (1 to 3).
    #[arg(long, default_value_t = 1)]
    pub order: usize,
    /// Milestone event names for W-shaped, comma-separated.
    #[arg(long)]
    pub milestones: Option<String>,
    /// Conversions at or after this time.
    #[arg(long)]
    pub from: Option<String>,
    /// Conversions before this time.
    #[arg(long)]
    pub to: Option<String>,
    /// Keep a run of the same touch as several touches.
    #[arg(long)]
    pub keep_repeats: bool,
    /// The property holding a conversion's value (`none` for none).
    #[arg(long, default_value = "$revenue")]
    pub value: String,
    /// Permutations drawn when Shapley values are sampled (above 15 touches).
    #[arg(long, default_value_t = 2000)]
    pub permutations: usize,
    /// How to print the report: a table to read, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

impl AttributionArgs {
    fn request(&self) -> AttributionRequest {
        AttributionRequest {
            conversion: self.conversion.clone(),
            stage: self.stage.clone(),
            journey: None,
            touch: Some(self.touch.clone()),
            models: Some(self.models.clone()),
            lookback: Some(self.lookback.clone()),
            half_life: Some(self.half_life.clone()),
            weights: self.weights.clone(),
            order: Some(self.order),
            milestones: self.milestones.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            keep_repeats: Some(self.keep_repeats),
            value: Some(self.value.clone()),
            permutations: Some(self.permutations),
            transitions: None,
        }
    }
}

pub fn run(args: AttributionArgs) -> anyhow::Result<()> {
    let report = match &args.paths {
        Some(file) => {
            // Only the model options apply to a file of paths.
            let mut request = args.request();
            request.conversion = Some("(from the file)".into());
            let plan = request.plan(None).map_err(|e| anyhow!("--{e}"))?;
            let paths = read_paths(file, &args.path_separator)?;
            attribute(&paths, &plan.options).map_err(|e| anyhow!("--models: {e}"))?
        }
        None => {
            let def = args
                .journey
                .as_deref()
                .map(crate::journey_cmd::read_definition)
                .transpose()?;
            let plan = args.request().plan(def).map_err(|e| anyhow!("--{e}"))?;
            let frame = args.source.frame(&plan.spec)?;
            let costs = if plan.uses_costs() {
                args.source
                    .read_store(|store, ws| Ok(store.costs(ws)?))?
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            plan.execute(&frame, &costs).map_err(|e| anyhow!("--{e}"))?
        }
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Csv => print!("{}", report_csv(&report)),
        OutputFormat::Table => print_table(&report),
    }
    Ok(())
}

/// Reads a file of paths in ChannelAttribution's format.
pub fn read_paths(file: &Path, separator: &str) -> anyhow::Result<PathSet> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    parse_paths(&text, separator).map_err(|e| anyhow!("{}: {e}", file.display()))
}

/// Parses paths: a header naming `path`, `total_conversions`, and optionally
/// `total_conversion_value` and `total_null`; `;` or `,` between columns.
pub fn parse_paths(text: &str, separator: &str) -> anyhow::Result<PathSet> {
    let header = text
        .lines()
        .next()
        .ok_or_else(|| anyhow!("the file is empty"))?;
    let delimiter = if header.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let path_col = col(&["path", "paths"]).ok_or_else(|| anyhow!("line 1: no `path` column"))?;
    let conv_col = col(&["total_conversions", "conversions"])
        .ok_or_else(|| anyhow!("line 1: no `total_conversions` column"))?;
    let value_col = col(&["total_conversion_value", "conversion_value", "value"]);
    let null_col = col(&["total_null", "null", "nulls"]);
    let mut labels: Vec<String> = Vec::new();
    let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut rows: Vec<(Vec<PathTouch>, f64, f64, f64)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e
                .position()
                .map_or(0, |p| crate::csv_rows::first_line(text, p));
            match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => anyhow!(
                    "line {line}: the row has {len} cells where the header has {expected_len}"
                ),
                _ => anyhow!("line {line}: {e}"),
            }
        })?;
        let line = record
            .position()
            .map_or(0, |p| crate::csv_rows::first_line(text, p));
        let number = |i: Option<usize>, name: &str| -> anyhow::Result<f64> {
            let Some(text) = i.and_then(|i| record.get(i)).map(str::trim) else {
                return Ok(0.0);
            };
            if text.is_empty() {
                return Ok(0.0);
            }
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => bail!("line {line}: `{name}` must be a number ≥ 0, got `{text}`"),
            }
        };
        let conversions = number(Some(conv_col), "total_conversions")?;
        let value = number(value_col, "total_conversion_value")?;
        let nulls = number(null_col, "total_null")?;
        let path = record.get(path_col).unwrap_or("");
        let mut touches = Vec::new();
        for name in path
            .split(separator)
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let id = *ids.entry(name.to_string()).or_insert_with(|| {
                labels.push(name.to_string());
                (labels.len() - 1) as u32
            });
            touches.push(PathTouch {
                touch: id,
                age_s: 0.0,
                direct: name.eq_ignore_ascii_case("direct"),
                milestone: false,
            });
        }
        if touches.is_empty() && nulls > 0.0 && conversions == 0.0 {
            bail!("line {line}: the path is empty");
        }
        rows.push((touches, conversions, value, nulls));
    }
    let mut set = PathSet::new(labels);
    for (touches, c, v, n) in rows {
        set.push(&touches, c, v, n);
    }
    Ok(set.compact())
}

fn report_csv(report: &AttributionReport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["touch".to_string(), "occurrences".into(), "cost".into()];
    for m in &report.models {
        header.push(format!("{m}_conversions"));
        header.push(format!("{m}_value"));
    }
    w.write_record(&header)
        .expect("writing CSV to memory cannot fail");
    for r in &report.rows {
        let mut rec = vec![
            r.touch.clone(),
            r.occurrences.to_string(),
            r.cost.map(|c| c.to_string()).unwrap_or_default(),
        ];
        for m in &report.models {
            let c = &r.credits[m];
            rec.push(c.conversions.to_string());
            rec.push(c.value.to_string());
        }
        w.write_record(&rec)
            .expect("writing CSV to memory cannot fail");
    }
    String::from_utf8(w.into_inner().expect("flushing to memory cannot fail"))
        .expect("CSV of UTF-8 strings is UTF-8")
}

fn print_table(report: &AttributionReport) {
    println!(
        "{:.0} conversions worth {:.2} over {:.0} converting and {:.0} non-converting paths ({} distinct, {:.2} touches per converting path)",
        report.conversions,
        report.value,
        report.paths.converting,
        report.paths.non_converting,
        report.paths.distinct,
        report.paths.mean_length
    );
    if report.unattributed_conversions > 0.0 {
        println!(
            "{:.0} conversions had no touch in the lookback window and are not attributed",
            report.unattributed_conversions
        );
    }
    println!();
    print!("{:<28}", "touch");
    for m in &report.models {
        print!(" {:>15}", m);
    }
    println!();
    for r in &report.rows {
        print!("{:<28}", r.touch);
        for m in &report.models {
            print!(" {:>15.2}", r.credits[m].conversions);
        }
        println!();
    }
    if report.value > 0.0 {
        println!();
        println!("value credited");
        for r in &report.rows {
            print!("{:<28}", r.touch);
            for m in &report.models {
                print!(" {:>15.2}", r.credits[m].value);
            }
            println!();
        }
    }
    if let Some(cost) = report.cost {
        println!();
        println!("cost {cost:.2}; cost per acquisition, then ROI, by model");
        for r in &report.rows {
            print!("{:<28} {:>10.2}", r.touch, r.cost.unwrap_or(0.0));
            for m in &report.models {
                let c = &r.credits[m];
                match (c.cpa, c.roi) {
                    (Some(cpa), Some(roi)) => print!(" {cpa:>8.2}/{:>+6.0}%", 100.0 * roi),
                    _ => print!(" {:>15}", "-"),
                }
            }
            println!();
        }
    }
    if let Some(m) = &report.markov {
        println!();
        println!(
            "Markov chain of order {}: {} states, P(conversion) = {:.6} ({})",
            m.order, m.states, m.conversion_probability, m.solver.method
        );
        println!(
            "{:<28} {:>12} {:>12}",
            "removal effect", "conversion", "value"
        );
        for e in &m.removal_effects {
            println!("{:<28} {:>12.6} {:>12.6}", e.touch, e.conversion, e.value);
        }
    }
    if let Some(s) = &report.shapley {
        println!();
        println!(
            "Shapley values: {} over {} touches ({} evaluations)",
            s.method, s.players, s.evaluations
        );
    }
}

#[cfg(test)]
mod tests {
    use super::parse_paths;

    #[test]
    fn paths_parse_with_either_delimiter_and_name_bad_lines() {
        let set = parse_paths(
            "path;total_conversions;total_conversion_value;total_null\na > b;1;2.5;3\nb;0;0;1\n",
            ">",
        )
        .unwrap();
        assert_eq!(set.labels, ["a", "b"]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.path(0).value, 2.5);
        let set = parse_paths("path,total_conversions\nx>y,2\n", ">").unwrap();
        assert_eq!(set.path(0).touches.len(), 2);
        let err = parse_paths("path;total_conversions\na;1\nb;lots\n", ">").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: `total_conversions` must be a number ≥ 0, got `lots`"
        );
        // Lines are the file's, whatever its line ends and blank lines.
        let err = parse_paths("path;total_conversions\r\na;1\r\n\r\nb;lots\r\n", ">").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 4: `total_conversions` must be a number ≥ 0, got `lots`"
        );
        let err = parse_paths("path;total_conversions\r\na;1\r\nb;2;3\r\n", ">").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: the row has 3 cells where the header has 2"
        );
        let err = parse_paths("route;total_conversions\n", ">").unwrap_err();
        assert_eq!(err.to_string(), "line 1: no `path` column");
    }
}
