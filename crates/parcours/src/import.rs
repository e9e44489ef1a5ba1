//! Bulk import of CSV and JSON Lines files: CRM exports, call-center logs, store sales,
//! survey exports — and ad costs per campaign and day.
//!
//! Every row becomes a Segment message and goes through the same parser, normaliser,
//! deduplication and stitching as HTTP ingestion. Rows without a message id get one
//! derived from their content, so importing the same file twice adds nothing. Rejected
//! rows are reported by line number with the reason; the others are kept.
//!
//! Column conventions (headers are matched case-insensitively, ignoring spaces and
//! dashes) are documented in `docs/import.md`; `--map COLUMN=FIELD` and a mapping file
//! override them, `--set FIELD=VALUE` supplies constants (such as the event name of a
//! call log).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context};
use clap::Args;
use indicatif::ProgressBar;
use parcours_core::payload::{is_absent_id, parse_fields, Limits, Message};
use parcours_core::time::format_rfc3339;
use parcours_core::time::Micros;
use parcours_core::voice::definitions::{admit_response, parse_stored, SurveyDef};
use parcours_core::{Event, JsonObject, PayloadError};
use parcours_store::{database_path, AdCost, IdentityKind, Store, WorkspaceId};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::cli::{load_config, open_store, workspace, Common};
use crate::csv_rows::{self, BadRow, Batch};
use crate::dates::{detect_delimiter, DateArgs, DateReader};
use crate::encoding::{windows_1252, Encoding, UTF8_BOM};
use crate::rejects::{self, Rejects, Render};

#[derive(Args, Debug, Clone, Default)]
pub struct ImportArgs {
    /// The files to import, in this order (.csv, .jsonl / .ndjson, each possibly
    /// gzip-compressed: .csv.gz; detected from the content otherwise), or `-` for
    /// standard input. The mapping and options apply to each.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The workspace to import into; created if it does not exist.
    #[arg(long)]
    pub workspace: String,
    /// The files' format: told from their name and content by default.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: Format,
    /// What the rows are: events, or ad costs per campaign and day.
    #[arg(long, value_enum, default_value = "auto")]
    pub kind: Kind,
    /// Map a column to a field, e.g. `--map "Call Date=timestamp"`, `--map Agent=properties.agent`.
    #[arg(long = "map", value_name = "COLUMN=FIELD")]
    pub maps: Vec<String>,
    /// A constant for every row, e.g. `--set event="Call Completed"`, `--set properties.channel=phone`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// A TOML mapping file with `[columns]` (column = field) and `[constants]` (field = value).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// CSV delimiter (default: the one of comma, semicolon, tab and `|` the header line
    /// holds most of).
    #[arg(long)]
    pub delimiter: Option<char>,
    #[command(flatten)]
    pub dates: DateArgs,
    /// The character encoding of the files: utf-8 (the default), or windows-1252 (also
    /// read for latin1), in which spreadsheets of Western European locales save plain
    /// "CSV".
    #[arg(long, value_enum)]
    pub encoding: Option<Encoding>,
    /// Numbers are written with a decimal comma (12,50; 1 234,50; 1.234,50), as
    /// spreadsheets of French, German, Spanish… locales write them.
    #[arg(long)]
    pub decimal_comma: bool,
    /// One event per group of consecutive rows with the same value in this column (an
    /// order's line items): the first row's fields, the lines' `product.X` columns as
    /// `properties.products`, the revenue cells summed. CSV only.
    #[arg(long, value_name = "COLUMN")]
    pub group_by: Option<String>,
    /// Write the rejected rows to this file, as the input has them (a CSV file's header,
    /// then its rejected rows; a JSON Lines file's rejected lines), each with why in a
    /// last column `parcours_rejected` (a first key in JSON Lines): fix them there and
    /// import that file with the same options. One input file at a time.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Read and check every row, and show the first events as they would be stored;
    /// store nothing (and create neither the data directory nor the workspace).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as one JSON object (each file's counts and rejected rows, and
    /// the totals) instead of the report: for scripts and scheduled imports.
    #[arg(long)]
    pub json: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Auto,
    Csv,
    Jsonl,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Auto,
    Events,
    Costs,
}

/// How columns become fields.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// Explicit column → field, by exact header.
    pub columns: BTreeMap<String, String>,
    /// Field → constant value for every row.
    pub constants: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, String>,
    #[serde(default)]
    options: FileOptions,
}

/// How an export is read, kept with its mapping (`[options]` of a mapping file) so that
/// a recurring export is imported with one flag; the command line's flags win.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileOptions {
    pub kind: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub timezone: Option<String>,
    pub date_order: Option<String>,
    pub date_format: Option<String>,
    pub decimal_comma: Option<bool>,
    pub group_by: Option<String>,
}

fn read_mapping_file(path: &Path) -> anyhow::Result<MappingFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading mapping file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing mapping file {}", path.display()))
}

impl Mapping {
    pub fn from_args(args: &ImportArgs) -> anyhow::Result<Mapping> {
        Ok(Mapping::and_options(args)?.0)
    }

    /// The mapping of the arguments (the mapping file's, then `--map` and `--set`), and
    /// the mapping file's `[options]`: the file read once.
    fn and_options(args: &ImportArgs) -> anyhow::Result<(Mapping, FileOptions)> {
        let mut m = Mapping::default();
        let mut options = FileOptions::default();
        if let Some(path) = &args.mapping {
            let file = read_mapping_file(path)?;
            m.columns = file.columns;
            m.constants = file.constants;
            options = file.options;
        }
        for pair in &args.maps {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--map {pair:?}: expected COLUMN=FIELD"))?;
            m.columns.insert(k.to_string(), v.to_string());
        }
        for pair in &args.sets {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| anyhow!("--set {pair:?}: expected FIELD=VALUE"))?;
            m.constants.insert(k.to_string(), v.to_string());
        }
        for field in m.columns.values_mut() {
            *field = snake_field(field).to_string();
        }
        m.constants = std::mem::take(&mut m.constants)
            .into_iter()
            .map(|(field, value)| (snake_field(&field).to_string(), value))
            .collect();
        for field in m.columns.values().chain(m.constants.keys()) {
            check_field(field)?;
        }
        Ok((m, options))
    }
}

const TOP_FIELDS: &[&str] = &[
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "message_id",
    "timestamp",
    "channel",
    "touchpoint",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_term",
    "utm_content",
    "revenue",
    "currency",
    "email",
    "properties",
    "traits",
    "context",
    "ignore",
];

/// A field as the mapping names it: the Segment spelling of an id (`userId`, as the
/// tracking spec and its clients write it) is the field of that id.
fn snake_field(field: &str) -> &str {
    match field {
        "userId" => "user_id",
        "anonymousId" => "anonymous_id",
        "groupId" => "group_id",
        "previousId" => "previous_id",
        "messageId" => "message_id",
        other => other,
    }
}

fn check_field(field: &str) -> anyhow::Result<()> {
    let ok = TOP_FIELDS.contains(&field)
        || ["properties.", "traits.", "context.", "product."]
            .iter()
            .any(|p| field.strip_prefix(p).is_some_and(|r| !r.is_empty()));
    if ok {
        Ok(())
    } else {
        bail!(
            "unknown field {field:?}: use one of {} or properties.X / traits.X / context.X / product.X",
            TOP_FIELDS.join(", ")
        )
    }
}

/// The field a header maps to by convention. A header that already names a field path
/// (`properties.plan`, `context.campaign.source`, `traits.company`, as flattened JSON
/// exports write them) maps to that path as written.
fn conventional_field(header: &str) -> String {
    let path = header.trim();
    if ["properties.", "traits.", "context."]
        .iter()
        .any(|p| path.strip_prefix(p).is_some_and(|rest| !rest.is_empty()))
    {
        return path.to_string();
    }
    let field = match slug_of(header).as_str() {
        // Why `--rejects` wrote the row: not part of it.
        rejects::COLUMN => "ignore",
        "type" | "message_type" => "type",
        "event" | "event_name" | "action" | "evenement" | "événement" => "event",
        "name" | "page_name" | "screen_name" => "name",
        "user_id" | "userid" | "customer_id" | "contact_id" | "client_id" | "id_client"
        | "numero_client" | "numéro_client" | "code_client" => "user_id",
        "anonymous_id" | "anonymousid" | "device_id" | "cookie_id" | "visitor_id" => "anonymous_id",
        "group_id" | "groupid" | "account_id" | "company_id" | "deal_id" | "id_compte" => {
            "group_id"
        }
        "previous_id" | "previousid" => "previous_id",
        "message_id" | "messageid" | "event_id" => "message_id",
        "timestamp" | "time" | "date" | "datetime" | "occurred_at" | "event_time"
        | "created_at" | "horodatage" | "date_heure" => "timestamp",
        "channel" | "canal" => "channel",
        "touchpoint" => "touchpoint",
        "campaign" | "campaign_name" | "utm_campaign" | "campagne" => "campaign",
        "utm_source" | "source" => "utm_source",
        "utm_medium" | "medium" => "utm_medium",
        "utm_term" | "term" | "keyword" => "utm_term",
        "utm_content" | "content" => "utm_content",
        "revenue" | "amount" | "total" | "montant" | "montant_ttc" | "total_ttc" => "revenue",
        "currency" | "devise" => "currency",
        "email" | "e_mail" | "mail" | "email_address" | "emailaddress" | "courriel"
        | "adresse_email" | "adresse_e_mail" => "email",
        "properties" => "properties",
        "traits" => "traits",
        "context" => "context",
        _ => return format!("properties.{}", header.trim()),
    };
    field.to_string()
}

/// One rejected row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejection {
    pub line: u64,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
}

/// How many rejected rows of a file are kept with their line, code, field and message
/// (the first by line); beyond them, rejected rows are counted by reason only, so that a
/// file whose every row is rejected (a wrong mapping, dates in an unexpected form) costs
/// no more memory than one whose rows are stored. 2 M rejected rows held 0.8 GB when
/// all were kept, and 4.7 GB with `--json`, which printed every one.
pub const KEPT_REJECTIONS: usize = 1_000;

/// The rejected rows of an import: every one counted, by reason, and the first
/// [`KEPT_REJECTIONS`] by line kept whole. Serialised as `rejected` (the rows kept, by
/// line), `rejected_rows` and `rejected_by_reason`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Rejected {
    /// Sorted by line, at most [`KEPT_REJECTIONS`].
    #[serde(rename = "rejected")]
    kept: Vec<Rejection>,
    #[serde(rename = "rejected_rows")]
    rows: u64,
    /// One a code and field (a few: the codes times the columns at most).
    #[serde(rename = "rejected_by_reason", serialize_with = "by_rows")]
    reasons: Vec<Reason>,
}

/// The rejected rows of one code and field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reason {
    pub code: String,
    pub field: Option<String>,
    pub rows: u64,
    /// The first of them, and its message.
    pub first_line: u64,
    pub message: String,
}

/// The reasons, most rows first (then by their first line).
fn by_rows<S: serde::Serializer>(reasons: &[Reason], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(sorted_reasons(reasons))
}

fn sorted_reasons(reasons: &[Reason]) -> Vec<&Reason> {
    let mut sorted: Vec<&Reason> = reasons.iter().collect();
    sorted.sort_by_key(|r| (std::cmp::Reverse(r.rows), r.first_line));
    sorted
}

impl Rejected {
    pub fn push(&mut self, r: Rejection) {
        self.rows += 1;
        self.count(&r, 1);
        self.keep(r);
    }

    /// Adds the rejected rows of another part of the file (or of another file).
    pub fn append(&mut self, other: Rejected) {
        self.rows += other.rows;
        for reason in other.reasons {
            let first = Rejection {
                line: reason.first_line,
                code: reason.code,
                field: reason.field,
                message: reason.message,
            };
            self.count(&first, reason.rows);
        }
        for r in other.kept {
            self.keep(r);
        }
    }

    /// Counts `rows` rejected rows of the reason of `first`, the first of them `first`
    /// (a reason's text is copied only when it is new, or earlier than the one held).
    fn count(&mut self, first: &Rejection, rows: u64) {
        let same = |r: &&mut Reason| r.code == first.code && r.field == first.field;
        match self.reasons.iter_mut().find(same) {
            Some(mine) => {
                mine.rows += rows;
                if first.line < mine.first_line {
                    mine.first_line = first.line;
                    mine.message.clone_from(&first.message);
                }
            }
            None => self.reasons.push(Reason {
                code: first.code.clone(),
                field: first.field.clone(),
                rows,
                first_line: first.line,
                message: first.message.clone(),
            }),
        }
    }

    /// Keeps `r` if it is among the first [`KEPT_REJECTIONS`] by line.
    fn keep(&mut self, r: Rejection) {
        let full = self.kept.len() >= KEPT_REJECTIONS;
        if full && self.kept.last().is_some_and(|last| last.line <= r.line) {
            return;
        }
        let at = self.kept.partition_point(|k| k.line <= r.line);
        self.kept.insert(at, r);
        self.kept.truncate(KEPT_REJECTIONS);
    }

    /// Every rejected row, kept or not.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The first rejected rows by line (all of them, up to [`KEPT_REJECTIONS`]).
    pub fn kept(&self) -> &[Rejection] {
        &self.kept
    }

    /// The reasons, most rows first.
    pub fn reasons(&self) -> Vec<&Reason> {
        sorted_reasons(&self.reasons)
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub rows: u64,
    pub inserted: u64,
    pub duplicates: u64,
    #[serde(flatten)]
    pub rejected: Rejected,
    /// A dry run's valid rows (each stored, or a duplicate, had it not been one); `None`
    /// for an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<u64>,
    /// A dry run's first valid events, as they would be stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<Event>,
    /// For rows keyed by their email alone: what they went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_email: Option<ByEmail>,
    /// With `--group-by`: the values of the column that came back after rows of other
    /// values, each group of them another event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regrouped: Option<Regrouped>,
    /// With `--rejects`: the file the rejected rows were written to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejects_file: Option<String>,
    /// Ad costs: the lines of the report's totals and footer passed over (see
    /// [`is_report_total`]), not counted in `rows`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub report_totals: Vec<u64>,
}

/// The values of a `--group-by` column seen again after rows of other values: each run
/// of rows is an event, so an order whose rows are not together is several events (a
/// till's ticket numbers that start again each day are rightly so).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Regrouped {
    /// How many groups had a value seen in an earlier group.
    pub groups: u64,
    /// The first of them.
    pub first: Vec<Regroup>,
}

/// A group whose value of the `--group-by` column an earlier group had.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Regroup {
    /// The line the group starts on.
    pub line: u64,
    pub value: String,
    /// The line the first group of that value starts on.
    pub first_line: u64,
}

impl Regrouped {
    /// How many groups [`Regrouped::first`] keeps.
    const KEPT: usize = 5;
}

/// What the valid rows keyed by email alone went to.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct ByEmail {
    /// Rows of a person parcours knew by that email.
    pub known: u64,
    /// Rows recorded under an email parcours did not know, as a new person.
    pub new: u64,
}

/// An event in a line: its time, kind, name, actor and touch, for a person to check a
/// mapping by.
fn readable(e: &Event) -> String {
    let actor = match (&e.user_id, &e.anonymous_id) {
        (Some(u), _) => format!("user {u}"),
        (None, Some(a)) => format!("anonymous {a}"),
        (None, None) => "nobody".to_string(),
    };
    let mut line = format!(
        "{} {} {:?} · {actor} · channel {} · touchpoint {:?}",
        format_rfc3339(e.timestamp),
        e.kind.as_str(),
        e.name,
        e.touch.channel,
        e.touch.touchpoint
    );
    if let Some(campaign) = &e.touch.campaign.name {
        line.push_str(&format!(" · campaign {campaign}"));
    }
    if let Some(revenue) = e.touch.revenue {
        let currency = e.touch.currency.as_deref().unwrap_or("");
        line.push_str(&format!(" · revenue {revenue} {currency}"));
    }
    line
}

/// How many events a dry run shows.
const EXAMPLES: usize = 3;

impl Summary {
    pub fn print(&self, file: &Path) {
        self.print_counts(&name_of(file));
        const SHOWN: usize = 50;
        let field = |field: &Option<String>| {
            (field.as_deref())
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        };
        for r in self.rejected.kept().iter().take(SHOWN) {
            println!(
                "  line {}: {}{}: {}",
                r.line,
                r.code,
                field(&r.field),
                r.message
            );
        }
        if self.rejected.rows() > SHOWN as u64 {
            println!(
                "  … and {} more rejected rows; all of them by reason:",
                self.rejected.rows() - SHOWN as u64
            );
            for r in self.rejected.reasons() {
                println!(
                    "    {}{}: {} rows, the first at line {}: {}",
                    r.code,
                    field(&r.field),
                    r.rows,
                    r.first_line,
                    r.message
                );
            }
        }
        if !self.report_totals.is_empty() {
            let lines: Vec<String> = self.report_totals.iter().map(u64::to_string).collect();
            println!(
                "  passed over the report's totals and footer, which are not a day's costs: line{} {}",
                if lines.len() == 1 { "" } else { "s" },
                lines.join(", ")
            );
        }
        if let Some(ByEmail { known, new }) = self.by_email {
            let matched = match known + new {
                0 => 0.0,
                all => 100.0 * known as f64 / all as f64,
            };
            println!(
                "  keyed by email: {known} rows of people parcours knew, {new} under new emails ({matched:.0}% matched)"
            );
        }
        if let Some(r) = self.regrouped.as_ref().filter(|r| r.groups > 0) {
            let (groups, have) = match r.groups {
                1 => ("1 group".to_string(), "has"),
                n => (format!("{n} groups"), "have"),
            };
            println!(
                "  {groups} {have} a value of the --group-by column that an earlier group had, each another event; if they belong together, sort the file by that column before importing it:"
            );
            for g in &r.first {
                println!(
                    "    line {}: {:?}, first at line {}",
                    g.line, g.value, g.first_line
                );
            }
        }
        if let Some(path) = &self.rejects_file {
            println!(
                "  rejected rows written to {path} ({}), each with why in `{}`: fix them there, then import that file with the same options",
                self.rejected.rows(),
                rejects::COLUMN
            );
        }
        if !self.examples.is_empty() {
            println!("  the first events, as they would be stored:");
            for e in &self.examples {
                println!("  {}", readable(e));
                println!("    {}", serde_json::to_string(e).unwrap_or_default());
            }
        }
    }

    /// The summary's first line: what was imported (or checked) from `what`.
    fn print_counts(&self, what: &str) {
        match self.valid {
            None => println!(
                "imported {what}: {} rows, {} stored, {} duplicates, {} rejected",
                self.rows,
                self.inserted,
                self.duplicates,
                self.rejected.rows()
            ),
            Some(valid) => println!(
                "checked {what} (dry run, nothing stored): {} rows, {valid} valid, {} rejected",
                self.rows,
                self.rejected.rows()
            ),
        }
    }

    /// Adds the counts, rejected rows and examples of another import (the totals of
    /// several files, or the chunks of a dry run); what is told per file, `by_email` and
    /// `regrouped`, is not added.
    fn add(&mut self, other: Summary) {
        self.rows += other.rows;
        self.inserted += other.inserted;
        self.duplicates += other.duplicates;
        self.rejected.append(other.rejected);
        self.report_totals.extend(other.report_totals);
        if let Some(valid) = other.valid {
            self.valid = Some(self.valid.unwrap_or(0) + valid);
        }
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }
}

/// `-`, which names standard input.
fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// A file's name in messages.
fn name_of(path: &Path) -> String {
    if is_stdin(path) {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

pub fn run_cli(args: ImportArgs) -> anyhow::Result<()> {
    let config = load_config(&args.common, None)?;
    let (mapping, file_options) = Mapping::and_options(&args)?;
    let options = options_of(&args, file_options)?;
    if args.files.iter().filter(|f| is_stdin(f)).count() > 1 {
        bail!("standard input (`-`) can be read once: name it once");
    }
    if args.rejects.is_some() && args.files.len() > 1 {
        bail!("--rejects writes the rejected rows of one file: import the files one by one");
    }
    // The options are checked before the store is opened and the workspace created.
    let store = if args.dry_run && !database_path(&config.data_dir).exists() {
        None // A dry run creates nothing.
    } else {
        Some(open_store(&config)?)
    };
    let sink = match &store {
        Some(store) if !args.dry_run => {
            Sink::Store(store, workspace(store, &args.workspace, true)?.id)
        }
        // A dry run checks rows against the workspace, if it exists.
        Some(store) => Sink::Check(
            (store.workspace_by_name(&args.workspace)?).map(|w| (store as &dyn Store, w.id)),
        ),
        None => Sink::Check(None),
    };
    let mut total = Summary::default();
    let mut reports = Vec::new();
    for (done, file) in args.files.iter().enumerate() {
        let summary = import_into(sink, file, &mapping, &options).map_err(|e| {
            if args.files.len() == 1 {
                return e;
            }
            let (doing, before) = match args.dry_run {
                false => (
                    "importing",
                    "the files before it are imported; importing them again adds nothing",
                ),
                true => ("checking", "dry run: nothing is stored"),
            };
            e.context(format!(
                "{doing} {}, file {} of {} ({before})",
                name_of(file),
                done + 1,
                args.files.len()
            ))
        })?;
        if args.json {
            let mut report = serde_json::to_value(&summary)?;
            report["file"] = Value::String(name_of(file));
            reports.push(report);
        } else {
            summary.print(file);
        }
        total.add(summary);
    }
    if args.json {
        let mut totals = serde_json::json!({
            "rows": total.rows,
            "inserted": total.inserted,
            "duplicates": total.duplicates,
            "rejected": total.rejected.rows(),
        });
        if let Some(valid) = total.valid {
            totals["valid"] = valid.into();
        }
        let out = serde_json::json!({ "files": reports, "total": totals, "dry_run": args.dry_run });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if args.files.len() > 1 {
        total.print_counts(&format!("{} files", args.files.len()));
    }
    if let Some(store) = store {
        store.close();
    }
    Ok(())
}

/// The options of an import: the command line's flags, else the mapping file's
/// `[options]`, else the defaults.
fn options_of(args: &ImportArgs, file: FileOptions) -> anyhow::Result<Options> {
    let in_file = |key: &str| match &args.mapping {
        Some(path) => format!("`{key}` in {}", path.display()),
        None => format!("--{key}"),
    };
    let delimiter = match (args.delimiter, file.delimiter.as_deref()) {
        (Some(d), _) if d.is_ascii() => Some(d as u8),
        (Some(d), _) => bail!("--delimiter {d:?}: the delimiter must be one ASCII character"),
        (None, None) => None,
        (None, Some(d)) if d.len() == 1 && d.is_ascii() => Some(d.as_bytes()[0]),
        (None, Some(d)) => bail!(
            "{} {d:?}: the delimiter must be one ASCII character",
            in_file("delimiter")
        ),
    };
    let encoding = match (args.encoding, file.encoding.as_deref()) {
        (Some(e), _) => e,
        (None, None) => Encoding::Utf8,
        (None, Some(e)) => clap::ValueEnum::from_str(e, true)
            .map_err(|_| anyhow!("{} {e:?}: utf-8 or windows-1252", in_file("encoding")))?,
    };
    let kind = match (args.kind, file.kind.as_deref()) {
        (Kind::Auto, Some(k)) => clap::ValueEnum::from_str(k, true)
            .map_err(|_| anyhow!("{} {k:?}: auto, events or costs", in_file("kind")))?,
        (k, _) => k,
    };
    let date_order = args.dates.date_order.clone().or(file.date_order);
    if let Some(o) = date_order
        .as_deref()
        .filter(|o| !["dmy", "mdy"].contains(o))
    {
        bail!("{} {o:?}: dmy or mdy", in_file("date_order"));
    }
    let dates = DateArgs {
        date_format: args.dates.date_format.clone().or(file.date_format),
        date_order,
        timezone: args.dates.timezone.clone().or(file.timezone),
    };
    Ok(Options {
        format: args.format,
        kind,
        delimiter,
        dates: dates.reader()?,
        decimal_comma: args.decimal_comma || file.decimal_comma.unwrap_or(false),
        encoding,
        group_by: args.group_by.clone().or(file.group_by),
        rejects: args.rejects.clone(),
        progress: !args.no_progress,
    })
}

#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    pub kind: Kind,
    /// The CSV delimiter; `None`: told by the header line (see [`detect_delimiter`]).
    pub delimiter: Option<u8>,
    /// How times are read; the order of day and month, when not given, is learnt from
    /// the start of each file.
    pub dates: DateReader,
    /// Property and revenue cells write decimals with a comma (see [`comma_number`]).
    pub decimal_comma: bool,
    /// The character encoding of the input.
    pub encoding: Encoding,
    /// The column whose runs of equal values are one event each (see [`group_event`]).
    pub group_by: Option<String>,
    /// Where the rejected rows are written (see [`Rejects`]).
    pub rejects: Option<PathBuf>,
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: Format::Auto,
            kind: Kind::Auto,
            delimiter: None,
            dates: DateReader::new(None, None, "UTC").expect("UTC is a time zone"),
            decimal_comma: false,
            encoding: Encoding::Utf8,
            group_by: None,
            rejects: None,
            progress: false,
        }
    }
}

/// Rows per append: large enough to amortise a commit, small enough to bound memory.
const BATCH: usize = 5000;

/// Where the rows of an import go.
#[derive(Clone, Copy)]
enum Sink<'a> {
    /// Into a workspace of a store.
    Store(&'a dyn Store, WorkspaceId),
    /// Nowhere: a dry run, whose rows are checked as an import checks them, and counted.
    /// The workspace, when there is one, gives the survey definitions answers are checked
    /// against and the people of emails.
    Check(Option<(&'a dyn Store, WorkspaceId)>),
}

impl<'a> Sink<'a> {
    /// The workspace the rows are checked against, if any.
    fn workspace(self) -> Option<(&'a dyn Store, WorkspaceId)> {
        match self {
            Sink::Store(store, ws) => Some((store, ws)),
            Sink::Check(workspace) => workspace,
        }
    }
}

/// Imports one file into a workspace.
pub fn import_file(
    store: &dyn Store,
    ws: WorkspaceId,
    path: &Path,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Summary> {
    import_into(Sink::Store(store, ws), path, mapping, options)
}

/// Reads one file and checks its rows as [`import_file`] does (against a workspace's
/// surveys and people when one is given), storing nothing: the rows, the valid ones, the
/// rejected ones, and the first events as they would be stored.
pub fn check_file(
    workspace: Option<(&dyn Store, WorkspaceId)>,
    path: &Path,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Summary> {
    import_into(Sink::Check(workspace), path, mapping, options)
}

fn import_into(
    sink: Sink,
    path: &Path,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Summary> {
    let len = if is_stdin(path) {
        None
    } else {
        let metadata =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        Some(metadata.len())
    };
    let bar = match len {
        None => crate::cli::progress_bar(
            0,
            options.progress,
            "{spinner} {bytes} read {per_sec} {elapsed}",
        ),
        Some(len) => crate::cli::progress_bar(
            len,
            options.progress,
            "{spinner} {bytes}/{total_bytes} {bar:30} {percent}% {per_sec} eta {eta}",
        ),
    };
    let input = Input::open(path, len, options.encoding, &bar)?;
    if input.head.bytes.iter().all(u8::is_ascii_whitespace) {
        // Nothing to import (an export of a quiet day): not an error; nothing rejected.
        bar.finish_and_clear();
        let valid = matches!(sink, Sink::Check(_)).then_some(0);
        let summary = Summary {
            valid,
            ..Summary::default()
        };
        return with_rejects(summary, rejects_file(options, None)?);
    }
    let format = match options.format {
        Format::Auto => detect_format(path, &input.head.bytes),
        f => f,
    };
    let summary = match format {
        Format::Csv => import_csv(sink, input, mapping, options)?,
        _ if options.group_by.is_some() => {
            bail!(
                "--group-by groups the rows of a CSV file; {} is JSON Lines",
                input.name
            )
        }
        _ => import_jsonl(sink, input, mapping, options)?,
    };
    bar.finish_and_clear();
    Ok(summary)
}

/// What an import reads: a file, or standard input (`-`), its content decompressed when
/// it is gzip (several gzip members one after the other, as some exporters write them,
/// included).
struct Input {
    /// Its name in messages.
    name: String,
    /// Its first MiB, to guess its format and its rows from.
    head: Head,
    /// About how many rows it holds (0 when its length is not known).
    rows: u64,
    /// Its content from the start (the head, then the rest), read through the progress
    /// bar, which counts the file's own bytes.
    content: Box<dyn Read + Send>,
}

/// The byte order mark some tools write at the start of a UTF-8 file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// How much of an input is read first, to tell its format, rows and dates from.
const HEAD_BYTES: usize = 1 << 20;

/// The first MiB of an input's content (decompressed when it is gzip): what its format
/// and its number of rows are guessed from.
struct Head {
    bytes: Vec<u8>,
    /// How many of the input's own bytes held them.
    from: u64,
}

/// The input source as read: counted, and through a buffer whose unread part is known.
type Source = std::io::Chain<std::io::Cursor<Vec<u8>>, BufReader<Counted<Box<dyn Read + Send>>>>;

impl Input {
    /// Opens `path` (`-`: standard input) of `len` bytes when known, once: gzip is told
    /// by its first bytes, and the head is read through the same reader as the rest.
    /// Its content is read in `encoding`, as UTF-8.
    fn open(
        path: &Path,
        len: Option<u64>,
        encoding: Encoding,
        bar: &ProgressBar,
    ) -> anyhow::Result<Input> {
        let name = name_of(path);
        let reading = || format!("reading {name}");
        let source: Box<dyn Read + Send> = if is_stdin(path) {
            Box::new(bar.wrap_read(std::io::stdin()))
        } else {
            let file = File::open(path).with_context(|| format!("opening {name}"))?;
            Box::new(bar.wrap_read(file))
        };
        let mut raw = BufReader::with_capacity(
            1 << 16,
            Counted {
                inner: source,
                bytes: 0,
            },
        );
        let mut magic = Vec::with_capacity(2);
        (&mut raw)
            .take(2)
            .read_to_end(&mut magic)
            .with_context(reading)?;
        let gzip = magic == [0x1f, 0x8b];
        let raw: Source = std::io::Cursor::new(magic).chain(raw);
        // What was taken from the input for what was read of it, less what its buffer
        // holds unread.
        let taken = |raw: &Source| {
            let (magic, rest) = raw.get_ref();
            let unread =
                rest.buffer().len() as u64 + magic.get_ref().len() as u64 - magic.position();
            rest.get_ref().bytes - unread
        };
        let mut bytes = Vec::with_capacity(HEAD_BYTES);
        let (from, content): (u64, Box<dyn Read + Send>) = if gzip {
            let mut content = flate2::bufread::MultiGzDecoder::new(raw);
            (&mut content)
                .take(HEAD_BYTES as u64)
                .read_to_end(&mut bytes)
                .with_context(reading)?;
            (taken(content.get_ref()), Box::new(content))
        } else {
            let mut content = raw;
            (&mut content)
                .take(HEAD_BYTES as u64)
                .read_to_end(&mut bytes)
                .with_context(reading)?;
            (taken(&content), Box::new(content))
        };
        if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            bail!("{name} is UTF-16 (as Excel's \"Unicode text\" saves): save it as \"CSV UTF-8\", or convert it with `iconv -f UTF-16 -t UTF-8`");
        }
        // A UTF-8 byte order mark says the file is UTF-8 whatever it was said to be (as
        // the WHATWG Encoding Standard and Excel decide): read as Windows-1252, it would
        // garble the first header ("ï»¿Date") and every accented letter.
        let encoding = if encoding == Encoding::Windows1252 && bytes.starts_with(UTF8_BOM) {
            tracing::warn!(file = %name, "the file starts with a UTF-8 byte order mark: read as UTF-8, not Windows-1252");
            Encoding::Utf8
        } else {
            encoding
        };
        // A single-byte encoding: the head and the rest are decoded apart.
        let (bytes, content) = match encoding {
            Encoding::Utf8 => (bytes, content),
            Encoding::Windows1252 => {
                let text: String = bytes.iter().map(|&b| windows_1252(b)).collect();
                (text.into_bytes(), encoding.decoder(content))
            }
        };
        let head = Head { bytes, from };
        Ok(Input {
            name,
            rows: len.map_or(0, |len| estimate_rows(&head, len)),
            content: Box::new(std::io::Cursor::new(head.bytes.clone()).chain(content)),
            head,
        })
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The whole content of a small file (a survey tool's export), decompressed when it is
/// gzip, read in `encoding`; `-` reads standard input.
pub fn read_content(path: &Path, encoding: Encoding) -> anyhow::Result<Vec<u8>> {
    let mut content = Vec::new();
    Input::open(path, None, encoding, &ProgressBar::hidden())?
        .content
        .read_to_end(&mut content)
        .with_context(|| format!("reading {}", name_of(path)))?;
    Ok(content)
}

/// About how many rows a file of `len` bytes holds, from the lines of its head (a quoted
/// CSV cell over several lines counts more than once): the estimate the store sizes its
/// sets by ([`Store::expect_events`]).
fn estimate_rows(head: &Head, len: u64) -> u64 {
    let lines = memchr::memchr_iter(b'\n', &head.bytes).count() as u64;
    match head.from {
        0 => 0,
        sampled => (u128::from(len) * u128::from(lines) / u128::from(sampled)) as u64,
    }
}

/// The format a file's name gives (its extension, before a `.gz`), else its first
/// character: `{` is JSON Lines, anything else CSV.
fn detect_format(path: &Path, head: &[u8]) -> Format {
    let extension = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let mut ext = extension(path);
    if ext == "gz" {
        ext = path
            .file_stem()
            .map(|stem| extension(Path::new(stem)))
            .unwrap_or_default();
    }
    match ext.as_str() {
        "csv" | "tsv" => return Format::Csv,
        "jsonl" | "ndjson" | "json" => return Format::Jsonl,
        _ => {}
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        Format::Jsonl
    } else {
        Format::Csv
    }
}

/// Reads a file's rows, unparsed, in batches of about [`BATCH`] rows with their line
/// numbers; rows that cannot even be read are rejected there. Returns the number of rows.
type ReadRows<'a, B> =
    Box<dyn FnOnce(&mut dyn FnMut(B), &mut dyn FnMut(BadRow)) -> anyhow::Result<u64> + Send + 'a>;

/// A rejected row, and its rows as `--rejects` writes them (empty without it).
type Found = (Rejection, Vec<u8>);

/// What `--rejects` needs of an import: how its rows are written, and where.
type RejectsTo<'r> = Option<(Render, &'r mut Rejects)>;

/// Turns the raw row of a batch at an index (below the batch's length) into its line and
/// event (validation, normalisation, message id).
type Convert<'a, B> = &'a (dyn Fn(&B, usize) -> (u64, Result<Event, PayloadError>) + Sync);

/// Turns the valid events of a chunk, as they are parsed, into what the consumer takes.
/// It must take every event the iterator yields: rows are parsed (and rejected rows
/// recorded) as it pulls them.
pub type Finish<'a, C> = &'a (dyn Fn(&mut dyn Iterator<Item = Event>) -> C + Sync);

/// Reads rows on one thread, parses them on `workers` threads (0: one per core and one
/// more, see [`parsing_threads`]), where `finish` also turns each chunk's valid events
/// into what `consume` takes (taking each event as soon as it is parsed), and hands
/// `consume` the chunks in file order.
/// Returns what `consume` returned, the rows read and the rejected rows (by line). A
/// worker that panics makes the whole call panic when the threads are joined: no chunk is
/// skipped silently.
#[allow(clippy::too_many_arguments)]
fn parse_parallel<B: RowBatch, C: Send, R>(
    read: ReadRows<'_, B>,
    convert: Convert<'_, B>,
    defs: &[SurveyDef],
    workers: usize,
    finish: Finish<'_, C>,
    rejects: RejectsTo<'_>,
    consume: impl FnOnce(&mut dyn Iterator<Item = C>) -> R,
) -> anyhow::Result<(R, u64, Rejected)> {
    let workers = match workers {
        0 => parsing_threads(),
        n => n,
    };
    let render = rejects.as_ref().map(|(render, _)| *render);
    // A batch goes with the rows the reader refused while reading it, so that rejected
    // rows are told (and written) in file order.
    let (work_tx, work_rx) = sync_channel::<(usize, B, Vec<Found>)>(workers);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = sync_channel::<(usize, C, Vec<Found>)>(workers * 2);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            yield_to_the_writer();
            let found = std::cell::RefCell::new(Vec::new());
            let mut next = 0;
            let rows = read(
                &mut |batch| {
                    let _ = work_tx.send((next, batch, found.take()));
                    next += 1;
                },
                &mut |bad| {
                    let r = Rejection {
                        line: bad.line,
                        code: bad.code.into(),
                        field: None,
                        message: bad.message,
                    };
                    let mut raw = Vec::new();
                    match render {
                        // A line refused unread: only why.
                        Some(Render::Jsonl) => {
                            Render::json_line(b"{}", &rejects::why(&r), &mut raw)
                        }
                        Some(csv) => {
                            let cells = bad.cells.iter().map(Vec::as_slice);
                            csv.csv_row(cells, &rejects::why(&r), &mut raw);
                        }
                        None => {}
                    }
                    found.borrow_mut().push((r, raw));
                },
            );
            // Refused after the last batch: at the end of the file.
            rows.map(|r| (r, found.into_inner()))
        });
        for _ in 0..workers {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || {
                yield_to_the_writer();
                parse_jobs(work_rx, done_tx, convert, defs, finish, render)
            });
        }
        drop(done_tx);
        let mut ordered = InOrder {
            rx: done_rx,
            next: 0,
            waiting: BTreeMap::new(),
            rejected: Rejected::default(),
            rejects: rejects.map(|(_, out)| out),
        };
        let result = consume(&mut ordered);
        // After an early stop, let the threads run out (their chunks are dropped).
        ordered.by_ref().for_each(drop);
        let (rows, last) = reader
            .join()
            .map_err(|_| anyhow!("the reader thread panicked"))??;
        ordered.record(last);
        Ok((result, rows, ordered.rejected))
    })
}

/// Makes the calling thread (a reader or parser of the import) give way to the store's
/// writer when they compete for a core.
///
/// The writer is the pipeline's one serial stage: on a machine with fewer cores than
/// threads, the scheduler would give it only its share of a core while the parsing
/// threads run ahead and wait on full queues, and the import would go at the writer's
/// starved pace. Parsing threads run at a lower priority (a nice value raised by
/// [`NICER`]), so the writer runs whenever it can; they use every other cycle. Best
/// effort: where the priority cannot be changed, nothing changes.
fn yield_to_the_writer() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: reads and sets the scheduling priority of the calling thread only (on
        // Linux, a thread's nice value is its own, named by its thread id); no memory is
        // shared with the calls.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
            if *libc::__errno_location() == 0 {
                libc::setpriority(libc::PRIO_PROCESS, tid, (nice + NICER).min(19));
            }
        }
    }
}

/// How much lower the parsing threads' priority is than the writer's.
const NICER: i32 = 10;

/// Parsing threads for this machine: one per core, and one more. The parsing threads
/// run below the writer's priority and block now and then (on the queue of batches, or
/// on full queues of parsed chunks); the spare thread keeps a core busy meanwhile. On
/// two cores the 12.5 M import took 41.1 s with three, 42.1 s with two (mean of four
/// alternating runs each, all four in favour of three).
fn parsing_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8)) + 1
}

/// A batch of raw rows, as the reader hands them to the parsing threads.
trait RowBatch: Send {
    fn len(&self) -> usize;

    /// Writes the rows of item `i` as `--rejects` has them, saying `why`.
    fn render(&self, i: usize, render: Render, why: &str, out: &mut Vec<u8>);
}

impl RowBatch for Lines {
    fn len(&self) -> usize {
        self.lines.len()
    }

    fn render(&self, i: usize, _: Render, why: &str, out: &mut Vec<u8>) {
        let (_, start, end) = self.lines[i];
        Render::json_line(&self.text[start..end], why, out);
    }
}

impl RowBatch for Batch {
    fn len(&self) -> usize {
        self.len()
    }

    fn render(&self, i: usize, render: Render, why: &str, out: &mut Vec<u8>) {
        render.csv_row(self.row(i).1.raw_cells(), why, out);
    }
}

/// A parsing thread: takes batches until there are none, and sends each one's chunk of
/// prepared events, with its rejected rows.
fn parse_jobs<B: RowBatch, C>(
    work: &Mutex<Receiver<(usize, B, Vec<Found>)>>,
    done: SyncSender<(usize, C, Vec<Found>)>,
    convert: Convert<'_, B>,
    defs: &[SurveyDef],
    finish: Finish<'_, C>,
    render: Option<Render>,
) {
    loop {
        let job = work.lock().unwrap_or_else(|e| e.into_inner()).recv();
        let Ok((index, batch, mut rejected)) = job else {
            break;
        };
        let refused = rejected.len();
        // Bounded by the batch's length, so the chunk is sized for it up front.
        let rows = (0..batch.len()).map(|i| (i, convert(&batch, i)));
        let chunk = finish(&mut rows.filter_map(|(i, (line, event))| {
            let e = event.and_then(|e| admit(defs, e));
            e.map_err(|e| {
                let r = reject(line, e);
                let mut raw = Vec::new();
                if let Some(render) = render {
                    batch.render(i, render, &rejects::why(&r), &mut raw);
                }
                rejected.push((r, raw));
            })
            .ok()
        }));
        if refused > 0 {
            // The rows the reader refused, among the others by line.
            rejected.sort_by_key(|(r, _)| r.line);
        }
        if done.send((index, chunk, rejected)).is_err() {
            break;
        }
    }
}

/// The workers' chunks put back in file order, their rejected rows recorded (and
/// written, with `--rejects`) in that order.
struct InOrder<'r, C> {
    rx: std::sync::mpsc::Receiver<(usize, C, Vec<Found>)>,
    next: usize,
    waiting: BTreeMap<usize, (C, Vec<Found>)>,
    rejected: Rejected,
    rejects: Option<&'r mut Rejects>,
}

impl<C> InOrder<'_, C> {
    fn record(&mut self, found: Vec<Found>) {
        for (r, raw) in found {
            if let Some(out) = self.rejects.as_mut() {
                out.row(&raw);
            }
            self.rejected.push(r);
        }
    }
}

impl<C> Iterator for InOrder<'_, C> {
    type Item = C;

    fn next(&mut self) -> Option<C> {
        loop {
            if let Some((chunk, found)) = self.waiting.remove(&self.next) {
                self.next += 1;
                self.record(found);
                return Some(chunk);
            }
            let (index, chunk, found) = self.rx.recv().ok()?;
            self.waiting.insert(index, (chunk, found));
        }
    }
}

/// Parses in parallel (see [`parse_parallel`]), prepares the events for the store on the
/// parsing threads (see `Store::prepare`) and streams them to the store, so reading,
/// parsing, preparing and committing overlap.
fn pipeline<B: RowBatch>(
    sink: Sink,
    expected_rows: u64,
    read: ReadRows<'_, B>,
    convert: Convert<'_, B>,
    rejects: RejectsTo<'_>,
) -> anyhow::Result<Summary> {
    let (store, ws) = match sink {
        Sink::Store(store, ws) => (store, ws),
        Sink::Check(workspace) => {
            let defs = match workspace {
                Some((store, ws)) => parse_stored(store.surveys(ws)?),
                None => Vec::new(),
            };
            return check(&defs, read, convert, rejects);
        }
    };
    store.expect_events(ws, expected_rows)?;
    // Answers of the workspace's defined surveys are checked and completed as over HTTP.
    let defs = &parse_stored(store.surveys(ws)?);
    let mut summary = Summary::default();
    let prepare = |events: &mut dyn Iterator<Item = Event>| store.prepare(ws, events);
    let (failure, rows, rejected) = parse_parallel(read, convert, defs, 0, &prepare, rejects, |chunks| {
        store
            .append_prepared(chunks, &mut |o| {
                summary.inserted += o.inserted as u64;
                summary.duplicates += o.duplicates as u64;
            })
            .err()
    })
    .map_err(|e| {
        e.context(format!(
            "the import stopped; the {} rows stored before are kept (importing the file again adds only the others)",
            summary.inserted
        ))
    })?;
    if let Some(e) = failure {
        return Err(anyhow!(e).context(format!(
            "storing rows (the {} rows stored before this are kept)",
            summary.inserted
        )));
    }
    summary.rows = rows;
    summary.rejected = rejected;
    Ok(summary)
}

/// A dry run of [`pipeline`]: the rows parsed and checked in parallel, the valid ones
/// counted and the first kept.
fn check<B: RowBatch>(
    defs: &[SurveyDef],
    read: ReadRows<'_, B>,
    convert: Convert<'_, B>,
    rejects: RejectsTo<'_>,
) -> anyhow::Result<Summary> {
    let first = |events: &mut dyn Iterator<Item = Event>| {
        let mut kept = Vec::new();
        let mut valid = 0u64;
        for e in events {
            valid += 1;
            if kept.len() < EXAMPLES {
                kept.push(e);
            }
        }
        (valid, kept)
    };
    let mut summary = Summary {
        valid: Some(0),
        ..Summary::default()
    };
    let ((), rows, rejected) = parse_parallel(read, convert, defs, 0, &first, rejects, |chunks| {
        for (valid, kept) in chunks {
            summary.add(Summary {
                valid: Some(valid),
                examples: kept,
                ..Summary::default()
            });
        }
    })?;
    summary.rows = rows;
    summary.rejected = rejected;
    Ok(summary)
}

/// An answer of a defined survey must fit its definition; without definitions (the
/// usual bulk import) nothing is looked at.
fn admit(defs: &[SurveyDef], mut e: Event) -> Result<Event, PayloadError> {
    if !defs.is_empty() {
        admit_response(defs, &mut e)?;
    }
    Ok(e)
}

fn reject(line: u64, e: PayloadError) -> Rejection {
    Rejection {
        line,
        code: e.code.as_str().into(),
        field: e.field,
        message: e.message,
    }
}

fn import_jsonl(
    sink: Sink,
    input: Input,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Summary> {
    let dates = &learnt(&options.dates, &input.name, "times", || {
        jsonl_head_times(&input.head.bytes, mapping)
    })?;
    // Lines naming a person by their email alone are tied to the people of those emails
    // (as a CSV file's rows keyed by email are), when the file's first lines hold any:
    // the people are then read before the first line is stored.
    let people = match jsonl_keyed_by_email(&input.head.bytes, mapping) {
        true => Some(People::of(sink.workspace())?),
        false => None,
    };
    let (name, expected_rows) = (input.name, input.rows);
    let content = input.content;
    let received = crate::server::now_micros();
    let read: ReadRows<'_, Lines> = Box::new(|emit, refuse| {
        let mut reader = BufReader::with_capacity(1 << 20, content);
        let mut batch = Lines::default();
        let (mut line_no, mut rows) = (0u64, 0u64);
        loop {
            let start = batch.text.len();
            // A line is read whole only up to its limit, past which the rest is skipped.
            let limit = MAX_LINE_BYTES as u64 + 1;
            let read = (&mut reader).take(limit).read_until(b'\n', &mut batch.text);
            let long =
                matches!(read, Ok(n) if n as u64 == limit && batch.text.last() != Some(&b'\n'));
            let read = match read.and_then(|n| {
                if long {
                    skip_line(&mut reader).map(|_| n)
                } else {
                    Ok(n)
                }
            }) {
                Ok(read) => read,
                Err(e) => {
                    // The lines read before a failure of the input are stored (not the
                    // one it cut), then it is told.
                    if !batch.lines.is_empty() {
                        emit(batch);
                    }
                    let reading = format!("reading {name} after line {line_no}");
                    return Err(anyhow!(e).context(reading));
                }
            };
            if read == 0 {
                break;
            }
            line_no += 1;
            if long {
                batch.text.truncate(start);
                rows += 1;
                refuse(BadRow {
                    line: line_no,
                    code: parcours_core::ErrorCode::EventTooLarge.as_str(),
                    message: format!(
                        "the line is longer than {} MiB (an event is at most 32 KB)",
                        MAX_LINE_BYTES >> 20
                    ),
                    cells: Vec::new(),
                });
                continue;
            }
            if batch.text[start..].iter().all(u8::is_ascii_whitespace) {
                batch.text.truncate(start);
                continue;
            }
            rows += 1;
            batch.lines.push((line_no, start, batch.text.len()));
            if batch.lines.len() == BATCH || batch.text.len() >= csv_rows::MAX_BATCH_BYTES {
                // The next batch is sized as this one ended, so it rarely grows.
                let next = Lines {
                    text: Vec::with_capacity(batch.text.len() + batch.text.len() / 8),
                    lines: Vec::with_capacity(BATCH),
                };
                emit(std::mem::replace(&mut batch, next));
            }
        }
        if !batch.lines.is_empty() {
            emit(batch);
        }
        Ok(rows)
    });
    let event = |line: &[u8]| {
        let text = std::str::from_utf8(line)
            .map_err(|_| {
                PayloadError::new(
                    parcours_core::ErrorCode::MalformedJson,
                    None,
                    "the line is not UTF-8 (JSON Lines files are UTF-8)",
                )
            })?
            .trim()
            // A byte order mark, as Windows tools write before the first line.
            .trim_start_matches('\u{feff}');
        match parcours_core::payload::read_message(text) {
            // A request body of `/v1/batch` saved as a line (a proxy's log, say).
            Ok(Some(m)) if m.contains_key("batch") && !m.contains_key("type") => Err(PayloadError::new(
                parcours_core::ErrorCode::InvalidType,
                "batch".to_string(),
                "the line is a batch envelope ({\"batch\": […]}), not a message: write one message a line (jq -c '.batch[]' FILE), or post the envelope to /v1/import",
            )),
            Ok(Some(mut m)) => {
                // Why `--rejects` wrote the line: not part of it, nor of its content.
                let content = match m.remove(rejects::COLUMN) {
                    Some(_) => rejects::without_why(text),
                    None => text.into(),
                };
                let mut m = rename_keys(from_export(m), mapping);
                let keyed = match (people.as_ref(), by_email_alone(&mut m)) {
                    (Some(people), true) => Some(people),
                    (None, true) => return Err(PayloadError::new(
                        parcours_core::ErrorCode::MissingField,
                        "userId".to_string(),
                        "the line names its person by an email alone, which parcours reads only in a file whose first lines (its first MiB) do so too: import such lines as a file of their own",
                    )),
                    (_, false) => None,
                };
                to_event(
                    m,
                    &mut |h| h.update(content.as_bytes()),
                    dates,
                    keyed,
                    received,
                )
            }
            Ok(None) => Err(PayloadError::new(
                parcours_core::ErrorCode::InvalidType,
                None,
                "each line must be a JSON object",
            )),
            Err(e) => Err(PayloadError::new(
                parcours_core::ErrorCode::MalformedJson,
                None,
                format!("not valid JSON: {e}"),
            )),
        }
    };
    let convert = |batch: &Lines, i: usize| {
        let (line, start, end) = batch.lines[i];
        (line, event(&batch.text[start..end]))
    };
    let mut out = rejects_file(options, None)?;
    let to = out.as_mut().map(|out| (Render::Jsonl, out));
    let mut summary = pipeline(sink, expected_rows, read, &convert, to)?;
    summary.by_email = people.as_ref().map(People::matched);
    with_rejects(summary, out)
}

/// Whether a message names its person by an email alone: it has no userId and no
/// anonymousId (absent, null or blank), and an email ([`email_of`], or a top-level
/// `email`, which is then placed as a CSV file's `email` column is: in `traits` and
/// `context.traits`).
fn by_email_alone(m: &mut Message) -> bool {
    // An id that names no one (null, blank, a placeholder such as "NULL") is none.
    let id = |m: &Message, key: &str| match m.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !is_absent_id(s.trim()),
        Some(Value::Number(n)) => !is_absent_id(&n.to_string()),
        Some(_) => true,
    };
    if id(m, "userId") || id(m, "anonymousId") {
        return false;
    }
    if email_of(m).is_some() {
        return true;
    }
    match m.remove("email") {
        Some(Value::String(email)) if email.contains('@') => {
            set_field(m, "email", Value::String(email));
            true
        }
        Some(other) => {
            m.insert("email", other);
            false
        }
        None => false,
    }
}

/// Whether any whole line at the start of a JSON Lines file (its head) names its person
/// by an email alone ([`by_email_alone`]), once renamed as the mapping says.
fn jsonl_keyed_by_email(head: &[u8], mapping: &Mapping) -> bool {
    let mut lines: Vec<&[u8]> = head.split(|b| *b == b'\n').collect();
    if head.len() >= HEAD_BYTES {
        lines.pop();
    }
    lines.into_iter().any(|line| {
        let line = line.strip_prefix(BOM).unwrap_or(line);
        let Ok(text) = std::str::from_utf8(line) else {
            return false;
        };
        match parcours_core::payload::read_message(text.trim()) {
            Ok(Some(m)) => by_email_alone(&mut rename_keys(from_export(m), mapping)),
            _ => false,
        }
    })
}

/// The most bytes of a JSON line read: an event is at most 32 KB, so a longer line is
/// refused anyway; past this one it is refused unread, and skipped, so that a file with
/// no line ends (a binary file, or one huge array) is not held in memory whole.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Skips the rest of the line `reader` is in, its line end included.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buf) {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buf.len();
                reader.consume(all);
            }
        }
    }
}

/// The time texts of the lines at the start of a JSON Lines file (its head: when the head
/// is not the whole file, its last line may be cut, and is left out), from which the
/// order of day and month is learnt: `timestamp`, `originalTimestamp`, `sentAt`,
/// `receivedAt` and the keys mapped to `timestamp`.
fn jsonl_head_times(head: &[u8], mapping: &Mapping) -> Vec<String> {
    let mut keys = vec!["timestamp", "originalTimestamp", "sentAt", "receivedAt"];
    keys.extend(
        mapping
            .columns
            .iter()
            .filter(|(_, to)| *to == "timestamp")
            .map(|(from, _)| from.as_str()),
    );
    let mut lines: Vec<&[u8]> = head.split(|b| *b == b'\n').collect();
    if head.len() >= HEAD_BYTES {
        lines.pop();
    }
    let mut times = Vec::new();
    for line in lines {
        let line = line.strip_prefix(BOM).unwrap_or(line);
        if let Ok(object) = serde_json::from_slice::<Map<String, Value>>(line) {
            for key in &keys {
                if let Some(Value::String(t)) = object.get(*key) {
                    times.push(t.clone());
                }
            }
        }
    }
    times
}

/// A batch of JSON Lines as read: their bytes one after the other (one allocation for
/// the batch, not one a line), and each line's number and place in them.
#[derive(Default)]
struct Lines {
    text: Vec<u8>,
    lines: Vec<(u64, usize, usize)>,
}

/// A line of `parcours export` (or `parcours timeline`): a stored event, with `seq`,
/// `kind`, `name`, snake-case ids and times in microseconds, made the Segment message it
/// was stored from, so that an export imports into another workspace or data directory
/// as the same events (the same message ids, times and objects; the channel and
/// touchpoint derived again). Other lines are left as they are.
fn from_export(mut m: Message) -> Message {
    let exported = !m.contains_key("type")
        && ["seq", "kind", "message_id", "received_at"]
            .iter()
            .all(|k| m.contains_key(k));
    if !exported {
        return m;
    }
    for derived in ["seq", "touch"] {
        m.remove(derived);
    }
    let kind = m.remove("kind");
    let named = match &kind {
        Some(Value::String(k)) if k == "track" => "event",
        _ => "name",
    };
    if let Some(kind) = kind {
        m.insert("type", kind);
    }
    let renamed = [
        ("name", named),
        ("message_id", "messageId"),
        ("user_id", "userId"),
        ("anonymous_id", "anonymousId"),
        ("group_id", "groupId"),
        ("previous_id", "previousId"),
    ];
    for (from, to) in renamed {
        if let Some(v) = m.remove(from) {
            m.insert(to, v);
        }
    }
    let times = [
        ("timestamp", "timestamp"),
        ("original_timestamp", "originalTimestamp"),
        ("sent_at", "sentAt"),
        ("received_at", "receivedAt"),
    ];
    for (from, to) in times {
        match m.remove(from) {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(micros) => m.insert(to, Value::String(format_rfc3339(micros))),
                // Not a time in microseconds: left for the parser to name.
                None => m.insert(to, Value::Number(n)),
            },
            Some(Value::Null) | None => None,
            Some(other) => m.insert(to, other),
        };
    }
    m
}

fn rename_keys(mut m: Message, mapping: &Mapping) -> Message {
    for (from, to) in &mapping.columns {
        // An object read as text is moved into the message's fields to be taken from it.
        materialise(&mut m, from);
        if let Some(v) = m.remove(from) {
            set_field(&mut m, to, v);
        }
    }
    for (field, value) in &mapping.constants {
        set_field(&mut m, field, Value::String(value.clone()));
    }
    if !m.contains_key("type") && m.contains_key("event") {
        m.insert("type", Value::String("track".into()));
    }
    m
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Validates a message through the ingestion parser, after giving it a content-derived
/// message id when it has none and making its timestamp RFC 3339.
fn to_event(
    mut m: Message,
    content: &mut dyn FnMut(&mut Sha256),
    dates: &DateReader,
    people: Option<&People>,
    received: i64,
) -> Result<Event, PayloadError> {
    let keyed = match people {
        Some(people) => Some((people, people.key(&mut m)?)),
        None => None,
    };
    // The event time (the first two) and the times that correct it (see
    // `parse_fields`), read as the file writes dates. A `receivedAt` is refused only when
    // the event time needs it: without a `timestamp`, with a `sentAt`.
    let needs_received = !m.contains_key("timestamp") && m.contains_key("sentAt");
    let mut time = None;
    for key in ["timestamp", "originalTimestamp", "sentAt", "receivedAt"] {
        let event_time = matches!(key, "timestamp" | "originalTimestamp");
        if let Some(micros) = m.time(key) {
            // Already what the message parser reads: left as it is (and read once).
            if event_time {
                time = time.or(Some(micros));
            }
        } else if let Some(Value::String(t)) = m.get(key) {
            let micros = match dates.read(t) {
                Ok(micros) => micros,
                Err(_) if key == "receivedAt" && !needs_received => {
                    m.remove(key);
                    continue;
                }
                Err(why) => {
                    return Err(PayloadError::new(
                        parcours_core::ErrorCode::InvalidTimestamp,
                        key.to_string(),
                        format!("`{key}`: {why}"),
                    ))
                }
            };
            m.insert(key, Value::String(format_rfc3339(micros)));
            if event_time {
                time = time.or(Some(micros));
            }
        }
    }
    if !matches!(
        m.get("timestamp").or(m.get("originalTimestamp")),
        Some(Value::String(_))
    ) {
        return Err(PayloadError::new(
            parcours_core::ErrorCode::MissingField,
            "timestamp".to_string(),
            "imported rows need a timestamp (map a column to it with --map COLUMN=timestamp)",
        ));
    }
    // The id is a function of the row's content only, so a re-import is deduplicated. It
    // starts with the event time so that rows of a time-ordered export land in order in
    // the dedupe index instead of at random places.
    let mut id = || {
        let mut hasher = Sha256::new();
        content(&mut hasher);
        let digest = hasher.finalize();
        let mut id = format!("imp-{:014x}-", time.unwrap_or(0).max(0));
        for b in &digest[..12] {
            id.push(HEX[(b >> 4) as usize] as char);
            id.push(HEX[(b & 15) as usize] as char);
        }
        id
    };
    let event = parse_fields(m, received, &Limits::default(), &mut id)?;
    if let Some((people, known)) = keyed {
        people.count(known);
    }
    Ok(event)
}

fn import_csv(
    sink: Sink,
    input: Input,
    mapping: &Mapping,
    options: &Options,
) -> anyhow::Result<Summary> {
    let head = &input.head.bytes;
    let delimiter = options.delimiter.unwrap_or_else(|| {
        let first = head.split(|b| *b == b'\n').next().unwrap_or_default();
        detect_delimiter(&String::from_utf8_lossy(first))
    });
    // Ad costs: their header may come after Excel's `sep=;` line, or after the title and
    // the dates an ad platform writes above it (Google Ads); those lines are passed over,
    // and counted in the lines told.
    let costs = match options.kind {
        Kind::Events => None,
        kind => costs_header(head, options.delimiter)
            .or((kind == Kind::Costs).then_some((0, 0, delimiter))),
    };
    if let Some((lines_before, at, delimiter)) = costs {
        let head = &head[at..];
        let (_, headers) =
            csv_rows::Reader::new(head, delimiter).context("reading the CSV header")?;
        let mut content = BufReader::new(input.content);
        for _ in 0..lines_before {
            content
                .read_until(b'\n', &mut Vec::new())
                .with_context(|| format!("reading {}", input.name))?;
        }
        let (reader, _) =
            csv_rows::Reader::new(content, delimiter).context("reading the CSV header")?;
        let day = CostColumns::of(&headers).day;
        let days = learnt(&options.dates.for_days(), &input.name, "days", || {
            day.map_or_else(Vec::new, |day| head_times(head, delimiter, &[day]))
        })?;
        let read = CostsRead {
            name: &input.name,
            days: &days,
            decimal_comma: options.decimal_comma,
            lines_before,
            constants: &mapping.constants,
        };
        let mut out = rejects_file(options, Some((&headers, delimiter)))?;
        let to = out
            .as_mut()
            .map(|out| (Render::csv(&headers, delimiter), out));
        let summary = import_costs(sink, reader, &headers, read, to)?;
        return with_rejects(summary, out);
    }
    let (reader, headers, fields) = open_csv(input.content, delimiter, mapping)?;
    let has_time =
        fields.iter().any(|f| f == "timestamp") || mapping.constants.contains_key("timestamp");
    if !has_time {
        bail!("no timestamp column among {headers:?}: name one `timestamp` or map it with --map COLUMN=timestamp");
    }
    let ids = ["user_id", "anonymous_id"];
    let has_id = fields.iter().any(|f| ids.contains(&f.as_str()))
        || ids.iter().any(|id| mapping.constants.contains_key(*id));
    let has_email = fields.iter().any(|f| f == "email");
    if !has_id && !has_email {
        bail!("no user_id, anonymous_id or email column among {headers:?}: every event needs one; map a column to it with --map COLUMN=user_id");
    }
    // Rows keyed by their email alone are tied to the people of those emails.
    let people = match has_id {
        true => None,
        false => Some(People::of(sink.workspace())?),
    };
    let dates = learnt(&options.dates, &input.name, "times", || {
        let columns: Vec<usize> = (0..fields.len())
            .filter(|&i| fields[i] == "timestamp")
            .collect();
        head_times(&input.head.bytes, delimiter, &columns)
    })?;
    let received = crate::server::now_micros();
    let cells = Cells {
        dates: &dates,
        decimal_comma: options.decimal_comma,
        people: people.as_ref(),
        why_at: why_column(&headers, &fields),
    };
    let products = fields.iter().any(|f| f.starts_with("product."));
    let regrouped = Mutex::new(Regrouped::default());
    let key =
        match &options.group_by {
            None => None,
            Some(column) => Some(headers.iter().position(|h| h == column).ok_or_else(|| {
                anyhow!("--group-by {column:?}: no such column among {headers:?}")
            })?),
        };
    let mut out = rejects_file(options, Some((&headers, delimiter)))?;
    let to = out
        .as_mut()
        .map(|out| (Render::csv(&headers, delimiter), out));
    let mut summary = match (key, products) {
        (None, false) => {
            let convert = csv_events(&fields, mapping, cells, received);
            let read = read_csv(reader, &input.name);
            pipeline(sink, input.rows, read, &convert, to)?
        }
        (key, _) => {
            let convert = group_events(&fields, mapping, cells, received);
            let read = read_groups(reader, &input.name, key, &regrouped);
            pipeline(sink, input.rows, read, &convert, to)?
        }
    };
    summary.by_email = people.as_ref().map(People::matched);
    if options.group_by.is_some() {
        summary.regrouped = Some(regrouped.into_inner().expect("not poisoned"));
    }
    with_rejects(summary, out)
}

/// The file `--rejects` names, created, with a CSV input's header (`headers` and
/// `delimiter`; then why).
fn rejects_file(
    options: &Options,
    csv_header: Option<(&[String], u8)>,
) -> anyhow::Result<Option<Rejects>> {
    let Some(path) = &options.rejects else {
        return Ok(None);
    };
    let mut out = Rejects::create(path, options.encoding)?;
    if let Some((headers, delimiter)) = csv_header {
        out.header(headers, delimiter);
    }
    Ok(Some(out))
}

/// The summary of an import whose rejected rows went to `out`, once they are all written.
fn with_rejects(mut summary: Summary, out: Option<Rejects>) -> anyhow::Result<Summary> {
    if let Some(out) = out {
        let path = out.finish()?;
        summary.rejects_file = Some(path.display().to_string());
    }
    Ok(summary)
}

/// Rows read together, cut into groups of consecutive rows (see [`group_event`]).
struct Groups {
    rows: Batch,
    /// Where each group starts in `rows`.
    starts: Vec<usize>,
}

impl RowBatch for Groups {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Every row of the group, each saying why.
    fn render(&self, i: usize, render: Render, why: &str, out: &mut Vec<u8>) {
        for row in self.group(i) {
            self.rows.render(row, render, why, out);
        }
    }
}

impl Groups {
    /// The rows of group `i`.
    fn group(&self, i: usize) -> std::ops::Range<usize> {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.rows.len());
        self.starts[i]..end
    }
}

/// The key of a row's group: its cell in column `key`, or none (a group of its own) when
/// that is empty or not UTF-8.
fn group_key(rows: &Batch, i: usize, key: usize) -> Option<&str> {
    let (_, row) = rows.row(i);
    row.cells()?.nth(key).filter(|k| !k.is_empty())
}

/// Reads the rows of an event CSV in batches of whole groups: consecutive rows with the
/// same key (a row without one is a group of its own; with no key column, every row is).
/// The last group of a batch may go on in the next: it is held back until the group
/// after it starts, or the input ends.
///
/// A value of the key column seen again after other values is counted in `regrouped`
/// (each value's first line is kept until the end of the file).
fn read_groups<'a, R: BufRead + Send + 'a>(
    mut reader: csv_rows::Reader<R>,
    name: &'a str,
    key: Option<usize>,
    regrouped: &'a Mutex<Regrouped>,
) -> ReadRows<'a, Groups> {
    Box::new(move |emit, rejected| {
        let mut rows = 0;
        let mut held = Batch::default();
        let mut first_lines: HashMap<Box<str>, u64> = HashMap::new();
        loop {
            let (batch, read, status) = next_batch(&mut reader, rejected);
            rows += read;
            let mut all = std::mem::take(&mut held);
            all.push_rows(&batch, 0..batch.len());
            let last = read == 0 || status.is_err();
            // Each row's key read once (this runs on the one reading thread).
            let keys: Vec<Option<&str>> = match key {
                None => Vec::new(),
                Some(k) => (0..all.len()).map(|i| group_key(&all, i, k)).collect(),
            };
            let mut starts: Vec<usize> = (0..all.len())
                .filter(|&i| key.is_none() || i == 0 || keys[i].is_none() || keys[i] != keys[i - 1])
                .collect();
            // The last group may go on in the next batch.
            let held_from = if last { None } else { starts.pop() };
            for &start in &starts {
                // No key column: `keys` is empty, and every row a group of its own.
                let Some(value) = keys.get(start).copied().flatten() else {
                    continue;
                };
                let line = all.row(start).0;
                match first_lines.get(value) {
                    None => {
                        first_lines.insert(value.into(), line);
                    }
                    Some(&first) => {
                        let mut r = regrouped.lock().expect("not poisoned");
                        r.groups += 1;
                        if r.first.len() < Regrouped::KEPT {
                            r.first.push(Regroup {
                                line,
                                value: value.to_string(),
                                first_line: first,
                            });
                        }
                    }
                }
            }
            if let Some(start) = held_from {
                held.push_rows(&all, start..all.len());
                all.truncate_rows(start);
            }
            if !starts.is_empty() {
                emit(Groups { rows: all, starts });
            }
            status.with_context(|| format!("reading {name} after row {rows}"))?;
            if read == 0 {
                return Ok(rows);
            }
        }
    })
}

/// Turns the group of a batch at an index into its line and event.
fn group_events<'a>(
    fields: &'a [String],
    mapping: &'a Mapping,
    cells: Cells<'a>,
    received: i64,
) -> impl Fn(&Groups, usize) -> (u64, Result<Event, PayloadError>) + Sync + 'a {
    let columns: Vec<Column<'a>> = fields.iter().map(|f| Column::of(f)).collect();
    move |groups, i| {
        let range = groups.group(i);
        let (line, _) = groups.rows.row(range.start);
        let rows: Vec<csv_rows::Row> = range.map(|r| groups.rows.row(r).1).collect();
        (line, group_event(&rows, &columns, mapping, cells, received))
    }
}

/// The event of a group of rows (an order's line items): the first row's message, with
/// each row's `product.X` cells as one line of `properties.products` (rows without any
/// left out) and, when the rows have revenue cells, their sum as the revenue (an order's
/// total written on its first row only, or each line's amount). Its content, hashed for
/// its message id, is every row's cells.
fn group_event(
    rows: &[csv_rows::Row],
    columns: &[Column],
    mapping: &Mapping,
    read: Cells,
    received: i64,
) -> Result<Event, PayloadError> {
    let all: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| row.cells().map(Iterator::collect))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            PayloadError::new(
                parcours_core::ErrorCode::MalformedCsv,
                None,
                format!("a row of the group is not UTF-8 ({})", csv_rows::NOT_UTF8),
            )
        })?;
    let mut message = row_message(all[0].iter().copied(), columns, mapping, read.decimal_comma)?;
    let mut products = Vec::new();
    let mut revenue: Option<f64> = None;
    for cells in &all {
        let mut line = Map::new();
        for (column, cell) in columns.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match column.place {
                Place::Product(key) => {
                    line.insert(key.to_string(), infer(cell, read.decimal_comma));
                }
                _ if column.field == "revenue" => {
                    if let Some(x) = infer(cell, read.decimal_comma).as_f64() {
                        revenue = Some(revenue.unwrap_or(0.0) + x);
                    }
                }
                _ => {}
            }
        }
        if !line.is_empty() {
            products.push(Value::Object(line));
        }
    }
    if !products.is_empty() {
        place(
            &mut message,
            &[vec!["properties", "products"]],
            Value::Array(products),
        );
    }
    if all.len() > 1 {
        if let Some(total) = revenue {
            let total = (total * 1e6).round() / 1e6;
            place(
                &mut message,
                &[vec!["properties", "revenue"]],
                Value::from(total),
            );
        }
    }
    // The content hashed is each row's cells joined by U+001F, the rows by U+001E.
    let content = &mut |h: &mut Sha256| {
        for (r, cells) in all.iter().enumerate() {
            if r > 0 {
                h.update([0x1e]);
            }
            hash_cells(h, cells.iter().copied(), read.why_at);
        }
    };
    to_event(message, content, read.dates, read.people, received)
}

/// `dates` with the order of day and month learnt from the `what` (times, days) at the
/// start of the file `name`, which are read only when the order is still to be learnt.
fn learnt(
    dates: &DateReader,
    name: &str,
    what: &str,
    cells: impl FnOnce() -> Vec<String>,
) -> anyhow::Result<DateReader> {
    let mut dates = dates.clone();
    if dates.learns_order() {
        dates
            .learn_order(cells().iter().map(String::as_str))
            .with_context(|| format!("reading the {what} at the start of {name}"))?;
    }
    Ok(dates)
}

/// How the cells of a file are read: its times, its numbers, (for rows keyed by email
/// alone) the people of emails, and the column `--rejects` wrote why in.
#[derive(Clone, Copy)]
struct Cells<'a> {
    dates: &'a DateReader,
    decimal_comma: bool,
    people: Option<&'a People>,
    /// Left out of the content hashed for a row's message id (see [`why_column`]).
    why_at: Option<usize>,
}

/// The column of a `--rejects` file that says why a row was rejected, when nothing maps
/// it: it is left out of the content a row's message id is derived from, so that a row
/// fixed there and the same row fixed in the original file are one event, whichever is
/// imported first (the rejects file's other columns are the original's, in its order).
fn why_column(headers: &[String], fields: &[String]) -> Option<usize> {
    (headers.iter())
        .position(|h| h.trim() == rejects::COLUMN)
        .filter(|&i| fields[i] == "ignore")
}

/// Hashes a row's cells joined by U+001F, the cell at `skip` (and its separator) left out.
fn hash_cells<'c>(h: &mut Sha256, cells: impl Iterator<Item = &'c str>, skip: Option<usize>) {
    let kept = cells
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, cell)| cell);
    for (i, cell) in kept.enumerate() {
        if i > 0 {
            h.update([0x1f]);
        }
        h.update(cell.as_bytes());
    }
}

/// The people of a workspace's emails, as the import found them when it started a file
/// (so that a file imports the same whatever the order its rows are committed in): the
/// identifier to record an email's rows under.
struct People {
    /// Email → (whether a userId, the identifier).
    by_email: HashMap<String, (bool, String)>,
    /// Valid rows recorded under a known person, and under a new email.
    known: AtomicU64,
    new: AtomicU64,
}

impl People {
    fn of(workspace: Option<(&dyn Store, WorkspaceId)>) -> anyhow::Result<People> {
        let mut by_email = HashMap::new();
        let Some((store, ws)) = workspace else {
            return Ok(People::new(by_email));
        };
        // Each person's first userId, else first anonymousId (by first seen).
        let mut emails = Vec::new();
        let mut ids: HashMap<i64, (bool, Micros, String)> = HashMap::new();
        store.identity_map(ws, &mut |i| {
            let user = match i.kind {
                IdentityKind::Email => return emails.push((i.value, i.person)),
                IdentityKind::UserId => true,
                IdentityKind::AnonymousId => false,
            };
            let better = |(u, seen, _): &(bool, Micros, String)| {
                (user, std::cmp::Reverse(i.first_seen)) > (*u, std::cmp::Reverse(*seen))
            };
            match ids.get(&i.person) {
                Some(known) if !better(known) => {}
                _ => {
                    ids.insert(i.person, (user, i.first_seen, i.value));
                }
            }
        })?;
        for (email, person) in emails {
            if let Some((user, _, id)) = ids.get(&person) {
                by_email.insert(email, (*user, id.clone()));
            }
        }
        Ok(People::new(by_email))
    }

    fn new(by_email: HashMap<String, (bool, String)>) -> People {
        People {
            by_email,
            known: AtomicU64::new(0),
            new: AtomicU64::new(0),
        }
    }

    /// Counts a valid row keyed by email (`known`: to a person parcours knew).
    fn count(&self, known: bool) {
        let counter = if known { &self.known } else { &self.new };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// What the rows keyed by email went to.
    fn matched(&self) -> ByEmail {
        ByEmail {
            known: self.known.load(Ordering::Relaxed),
            new: self.new.load(Ordering::Relaxed),
        }
    }

    /// Gives a message without ids the identifier of its email's person: their userId
    /// (else anonymousId) when the email is known, else the email itself as userId.
    /// Returns whether it was known.
    fn key(&self, m: &mut Message) -> Result<bool, PayloadError> {
        let email = email_of(m).ok_or_else(|| {
            PayloadError::new(
                parcours_core::ErrorCode::MissingField,
                "userId".to_string(),
                "the row has no email to key it by (the file has no user_id or anonymous_id column)",
            )
        })?;
        let (key, id, known) = match self.by_email.get(&email) {
            Some((true, user)) => ("userId", user.clone(), true),
            Some((false, anonymous)) => ("anonymousId", anonymous.clone(), true),
            None => ("userId", email, false),
        };
        m.insert(key, Value::String(id));
        Ok(known)
    }
}

/// The email of a message (its `traits.email`, else `context.traits.email`), trimmed
/// and lower-cased as identities are, when it looks like one.
fn email_of(m: &mut Message) -> Option<String> {
    let at = |v: Option<&Value>, path: &[&str]| {
        path.iter()
            .try_fold(v?, |v, k| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let text = |m: &mut Message, key: &str, inner: Option<&str>| {
        m.texts.slot(key)?.as_ref()?.view(|v| {
            let v = match inner {
                Some(k) => v.object_at(k)?,
                None => v,
            };
            v.str_at("email").map(str::to_string)
        })
    };
    let email = at(m.get("traits"), &["email"])
        .or_else(|| text(m, "traits", None))
        .or_else(|| at(m.get("context"), &["traits", "email"]))
        .or_else(|| text(m, "context", Some("traits")))?;
    Some(email.trim().to_lowercase()).filter(|e| e.contains('@'))
}

/// The time cells of the rows at the start of a CSV file (its head: when the head is not
/// the whole file, it may end inside a row, which is left out), from which the order of
/// day and month is learnt.
fn head_times(head: &[u8], delimiter: u8, columns: &[usize]) -> Vec<String> {
    let Ok((mut reader, _)) = csv_rows::Reader::new(head, delimiter) else {
        return Vec::new();
    };
    // Each row's time cells; read in batches, as the import reads, so that memory stays
    // bounded whatever the head holds.
    let mut rows: Vec<Vec<String>> = Vec::new();
    loop {
        let (batch, read, _) = reader.read_batch(BATCH, &mut |_| {});
        if read == 0 {
            break;
        }
        for (_, row) in batch.rows() {
            let cells: Vec<&str> = row.cells().map(Iterator::collect).unwrap_or_default();
            rows.push(
                (columns.iter())
                    .filter_map(|&i| cells.get(i).map(|c| c.to_string()))
                    .collect(),
            );
        }
    }
    if head.len() >= HEAD_BYTES {
        rows.pop();
    }
    rows.concat()
}

/// The next batch of rows of an event CSV; rows of the wrong width are rejected by their
/// line.
fn next_batch<R: BufRead>(
    reader: &mut csv_rows::Reader<R>,
    bad: &mut dyn FnMut(BadRow),
) -> (Batch, u64, std::io::Result<()>) {
    reader.read_batch(BATCH, bad)
}

/// Reads the rows of an event CSV, unparsed, in batches; rows of the wrong width are
/// rejected.
fn read_csv<'a, R: BufRead + Send + 'a>(
    mut reader: csv_rows::Reader<R>,
    name: &'a str,
) -> ReadRows<'a, Batch> {
    Box::new(move |emit, rejected| {
        let mut rows = 0;
        loop {
            let (batch, read, status) = next_batch(&mut reader, rejected);
            rows += read;
            // The rows read before a failure of the input are stored, then it is told.
            if !batch.is_empty() {
                emit(batch);
            }
            status.with_context(|| format!("reading {name} after row {rows}"))?;
            if read == 0 {
                return Ok(rows);
            }
        }
    })
}

/// Turns the row of a batch of CSV rows at an index into an event.
fn csv_events<'a>(
    fields: &'a [String],
    mapping: &'a Mapping,
    cells: Cells<'a>,
    received: i64,
) -> impl Fn(&Batch, usize) -> (u64, Result<Event, PayloadError>) + Sync + 'a {
    let columns: Vec<Column<'a>> = fields.iter().map(|f| Column::of(f)).collect();
    move |batch, i| {
        let (line, row) = batch.row(i);
        (line, csv_event(row, &columns, mapping, cells, received))
    }
}

/// The event of one CSV row.
fn csv_event(
    row: csv_rows::Row<'_>,
    columns: &[Column],
    mapping: &Mapping,
    read: Cells,
    received: i64,
) -> Result<Event, PayloadError> {
    let cells = row.cells().ok_or_else(|| {
        PayloadError::new(
            parcours_core::ErrorCode::MalformedCsv,
            None,
            format!("the row is not UTF-8 ({})", csv_rows::NOT_UTF8),
        )
    })?;
    let message = row_message(cells.clone(), columns, mapping, read.decimal_comma)?;
    // The content hashed is the row's cells joined by U+001F.
    let content = &mut |h: &mut Sha256| {
        hash_cells(h, cells.clone(), read.why_at);
    };
    to_event(message, content, read.dates, read.people, received)
}

/// Parses an event CSV exactly as `import_file` does, on `workers` threads (0: as many
/// as the import uses), where `finish` turns each chunk of valid events into what `f`
/// takes (as `import_file` prepares them for the store there), and hands the chunks to
/// `f` in file order, without storing anything (the benchmarks use it to feed the same
/// rows to other writers). Returns (rows read, rows rejected).
pub fn parse_csv_file<C: Send>(
    path: &Path,
    mapping: &Mapping,
    delimiter: u8,
    workers: usize,
    finish: Finish<'_, C>,
    f: &mut dyn FnMut(C),
) -> anyhow::Result<(u64, u64)> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (reader, _, fields) = open_csv(file, delimiter, mapping)?;
    let received = crate::server::now_micros();
    let dates = DateReader::new(None, None, "UTC")?;
    let cells = Cells {
        dates: &dates,
        decimal_comma: false,
        people: None,
        why_at: None,
    };
    let convert = csv_events(&fields, mapping, cells, received);
    let name = path.display().to_string();
    let ((), rows, rejected) = parse_parallel(
        read_csv(reader, &name),
        &convert,
        &[],
        workers,
        finish,
        None,
        |chunks| chunks.for_each(f),
    )?;
    Ok((rows, rejected.rows()))
}

/// A CSV reader past its header, the header, and the field each column maps to.
#[allow(clippy::type_complexity)]
fn open_csv<R: Read>(
    input: R,
    delimiter: u8,
    mapping: &Mapping,
) -> anyhow::Result<(csv_rows::Reader<BufReader<R>>, Vec<String>, Vec<String>)> {
    let (reader, headers) =
        csv_rows::Reader::new(BufReader::with_capacity(1 << 20, input), delimiter)
            .context("reading the CSV header")?;
    let fields = fields_of(&headers, mapping);
    one_column_a_field(&headers, &fields)?;
    Ok((reader, headers, fields))
}

/// Refuses a header whose columns give one field twice (`Email` and `email`, or
/// `Customer ID` and `Contact ID`, which both name the userId): each row would keep one
/// of the two cells and drop the other without a word.
fn one_column_a_field(headers: &[String], fields: &[String]) -> anyhow::Result<()> {
    for (j, field) in fields.iter().enumerate() {
        if field == "ignore" {
            continue;
        }
        if let Some(i) = fields[..j].iter().position(|f| f == field) {
            bail!(
                "columns {:?} and {:?} both give `{field}`, so each row would lose one of them: map one to another field (--map {:?}) or leave it out (--map {:?})",
                headers[i],
                headers[j],
                format!("{}=properties.{}", headers[j], slug_of(&headers[j])),
                format!("{}=ignore", headers[j]),
            );
        }
    }
    Ok(())
}

/// The field each column of a header maps to: as the mapping says, else by convention
/// ([`conventional_field`]). Then, without a time column, the first column named as
/// exports name a creation or order date is the time ([`LATER_TIMES`]); and in a file of
/// identify calls, the columns that would be properties are traits ([`trait_field`]).
fn fields_of(headers: &[String], mapping: &Mapping) -> Vec<String> {
    let mut fields: Vec<String> = headers
        .iter()
        .map(|h| {
            mapping
                .columns
                .get(h)
                .cloned()
                .unwrap_or_else(|| conventional_field(h))
        })
        .collect();
    let unmapped = |i: usize| !mapping.columns.contains_key(&headers[i]);
    let slugs: Vec<String> = headers.iter().map(|h| slug_of(h)).collect();
    if slugs.iter().any(|s| WAREHOUSE_LOADS.contains(&s.as_str())) {
        let named = slugs.iter().any(|s| s == "event_text");
        for i in (0..headers.len()).filter(|&i| unmapped(i)) {
            if let Some(field) = warehouse_field(&slugs[i], named) {
                fields[i] = field;
            }
        }
    }
    if !fields.iter().any(|f| f == "timestamp") && !mapping.constants.contains_key("timestamp") {
        if let Some(i) = (0..headers.len())
            .find(|&i| unmapped(i) && LATER_TIMES.contains(&slug_of(&headers[i]).as_str()))
        {
            fields[i] = "timestamp".into();
        }
    }
    if identifies(&fields, mapping) {
        for i in (0..headers.len()).filter(|&i| unmapped(i)) {
            let by_default = fields[i] == "name"
                || (fields[i].starts_with("properties.")
                    && !headers[i].trim().starts_with("properties."));
            if by_default {
                fields[i] = trait_field(&headers[i]);
            }
        }
    }
    fields
}

/// Columns a Segment or RudderStack warehouse table has (`tracks`, `pages`,
/// `identifies`…: the loading and client times), by which its CSV export is recognised.
const WAREHOUSE_LOADS: &[&str] = &[
    "original_timestamp",
    "sent_at",
    "received_at",
    "uuid_ts",
    "loaded_at",
];

/// The field of a column of a Segment or RudderStack warehouse table, when the table
/// names it so (the others, flattened properties or traits, go by convention):
/// - `id` is the message id, and `event_text` the event's name when there is one (`event`
///   is then its slug, ignored);
/// - `timestamp` is the event time, already corrected for the client's clock: the client
///   and loading times are ignored (the import would otherwise correct it again, against
///   the time of the import);
/// - `context_<object>_<key>` is `context.<object>.<key>` in camel case
///   (`context_page_path`, `context_campaign_source`, `context_device_advertising_id` →
///   `context.device.advertisingId`), and `context_user_agent`, `context_ip`,
///   `context_locale`, `context_timezone` are the context's own;
/// - RudderStack's `channel` (web, server, android…) is `context.channel`: where the
///   event came from, not a marketing channel.
fn warehouse_field(slug: &str, named: bool) -> Option<String> {
    let field = match slug {
        "id" => "message_id",
        "event_text" => "event",
        "event" if named => "ignore",
        s if WAREHOUSE_LOADS.contains(&s) => "ignore",
        "channel" => "context.channel",
        "context_user_agent" => "context.userAgent",
        "context_ip" => "context.ip",
        "context_locale" => "context.locale",
        "context_timezone" => "context.timezone",
        s => {
            let (object, key) = s.strip_prefix("context_")?.split_once('_')?;
            const OBJECTS: &[&str] = &[
                "campaign", "page", "library", "app", "device", "os", "screen", "referrer",
                "location", "network", "traits",
            ];
            if !OBJECTS.contains(&object) || key.is_empty() {
                return None;
            }
            let mut camel = String::with_capacity(key.len());
            for (i, word) in key.split('_').filter(|w| !w.is_empty()).enumerate() {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) if i > 0 => {
                        camel.extend(first.to_uppercase());
                        camel.push_str(chars.as_str());
                    }
                    _ => camel.push_str(word),
                }
            }
            return Some(format!("context.{object}.{camel}"));
        }
    };
    Some(field.to_string())
}

/// Header names of dates that are an event's time when no column is named as one
/// (`created_at`, `date`…: see [`conventional_field`]): CRM and shop exports name them so.
const LATER_TIMES: &[&str] = &[
    "create_date",
    "created",
    "created_date",
    "creation_date",
    "date_created",
    "createdate",
    "event_date",
    "order_date",
    "purchase_date",
    "transaction_date",
    "call_date",
    "submitted_at",
    "submit_date",
    "date_de_creation",
    "date_de_création",
    "date_commande",
    "date_de_commande",
    "date_achat",
    "date_d_achat",
];

/// Whether every row of a file is an identify call: no event column or constant, and no
/// type but `identify` (a row with neither is an identify, see [`row_message`]).
fn identifies(fields: &[String], mapping: &Mapping) -> bool {
    let event = fields.iter().any(|f| f == "event") || mapping.constants.contains_key("event");
    let typed = fields.iter().any(|f| f == "type");
    !event
        && !typed
        && matches!(
            mapping.constants.get("type").map(String::as_str),
            None | Some("identify")
        )
}

/// The trait a column of identify calls holds: Segment's reserved traits by their usual
/// headers (`First Name` → `traits.firstName`), else the header as written.
fn trait_field(header: &str) -> String {
    let reserved = match slug_of(header).as_str() {
        "name" | "full_name" => "name",
        "first_name" | "firstname" | "given_name" => "firstName",
        "last_name" | "lastname" | "surname" | "family_name" => "lastName",
        "phone" | "phone_number" | "mobile" | "mobile_phone" => "phone",
        "title" | "job_title" => "title",
        "company" | "company_name" => "company",
        "website" => "website",
        "birthday" | "date_of_birth" | "birth_date" => "birthday",
        _ => return format!("traits.{}", header.trim()),
    };
    format!("traits.{reserved}")
}

/// A header lower-cased, with spaces and punctuation read as `_`.
fn slug_of(header: &str) -> String {
    header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

/// Builds the Segment message of one CSV row.
/// A JSON cell that holds a whole object is kept as its text (see `TextObjects`), until another
/// column or constant adds to that object.
fn row_message<'a>(
    cells: impl Iterator<Item = &'a str>,
    columns: &[Column],
    mapping: &Mapping,
    decimal_comma: bool,
) -> Result<Message, PayloadError> {
    let mut m = Message::default();
    for (column, cell) in columns.iter().zip(cells) {
        let cell = cell.trim();
        let field = column.field;
        if cell.is_empty() {
            continue;
        }
        let (paths, value) = match &column.place {
            Place::Ignore | Place::Product(_) => continue,
            Place::Object => {
                let object = JsonObject::from_text(cell.into()).map_err(|e| {
                    PayloadError::new(
                        parcours_core::ErrorCode::InvalidType,
                        field.to_string(),
                        format!("the {field} column must hold a JSON object ({e})"),
                    )
                })?;
                if object.is_empty() {
                    continue;
                }
                let earlier = m.texts.slot(field).and_then(Option::take);
                match (m.get_mut(field), earlier) {
                    // Usually the whole object: kept as its text, no map built.
                    (None, None) => *m.texts.slot(field).expect("an object") = Some(object),
                    // Added to fields that columns before it set: they are written into
                    // its text, still no map built.
                    (Some(Value::Object(fields)), None) => {
                        let fields = std::mem::take(fields);
                        m.remove(field);
                        *m.texts.slot(field).expect("an object") =
                            Some(object.with_missing(fields));
                    }
                    // Added to another cell of the same object: as maps.
                    (existing, earlier) => {
                        let mut merged = match existing {
                            Some(Value::Object(t)) => std::mem::take(t),
                            _ => earlier.map(JsonObject::into_map).unwrap_or_default(),
                        };
                        merged.extend(object.into_map());
                        m.insert(field, Value::Object(merged));
                    }
                }
                continue;
            }
            Place::Typed(paths) => (paths, infer(cell, decimal_comma)),
            Place::Text(paths) => (paths, Value::String(cell.to_string())),
        };
        place(&mut m, paths, value);
    }
    for (field, value) in &mapping.constants {
        set_field(&mut m, field, Value::String(value.clone()));
    }
    if !m.contains_key("type") {
        // A row without a type is a track when the file has events: one whose event cell
        // is empty is refused as a track without a name (as over HTTP), not taken for an
        // identify call. A file of people (no event column) holds identify calls; a file
        // that mixes both says which row is which in a `type` column.
        let kind = if m.contains_key("event") || columns.iter().any(|c| c.field == "event") {
            "track"
        } else {
            "identify"
        };
        m.insert("type", Value::String(kind.into()));
    }
    Ok(m)
}

/// Moves the object a change under `key` touches, if it was kept as text, into the
/// message's fields, where the change is made.
fn materialise(m: &mut Message, key: &str) {
    if let Some(object) = m.texts.slot(key).and_then(Option::take) {
        m.insert(key, Value::Object(object.into_map()));
    }
}

/// A cell as the JSON value it most likely is: numbers and booleans typed, identifiers
/// with leading zeros kept as text.
fn infer(cell: &str, decimal_comma: bool) -> Value {
    if decimal_comma {
        if let Some(number) = comma_number(cell) {
            return number;
        }
    }
    let leading_zero = cell.len() > 1 && cell.starts_with('0') && !cell.starts_with("0.");
    if !leading_zero {
        if let Ok(i) = cell.parse::<i64>() {
            return Value::from(i);
        }
        if let Ok(f) = cell.parse::<f64>() {
            if f.is_finite() {
                return Value::from(f);
            }
        }
    }
    match cell {
        "true" | "TRUE" | "True" => Value::Bool(true),
        "false" | "FALSE" | "False" => Value::Bool(false),
        _ => Value::String(cell.to_string()),
    }
}

/// A number as spreadsheets of decimal-comma locales write it: `12,50`, `-0,5`, `1234`,
/// or with groups of three digits set apart by a space, a no-break space or a dot
/// (`1 234,50`, `1.234,50`, `1.234`). `None` for anything else, and for digits with a
/// leading zero (`0042`: an identifier).
fn comma_number(cell: &str) -> Option<Value> {
    let (negative, unsigned) = match cell.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cell.strip_prefix('+').unwrap_or(cell)),
    };
    let (whole, fraction) = match unsigned.split_once(',') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    let whole = if digits(whole) {
        whole.to_string()
    } else {
        let separator = whole.chars().find(|c| !c.is_ascii_digit())?;
        if ![' ', '\u{a0}', '\u{202f}', '.'].contains(&separator) {
            return None;
        }
        let mut groups = whole.split(separator);
        let first = groups.next()?;
        let rest: Vec<&str> = groups.collect();
        if !digits(first) || first.len() > 3 || rest.iter().any(|g| g.len() != 3 || !digits(g)) {
            return None;
        }
        std::iter::once(first).chain(rest).collect()
    };
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let sign = if negative { "-" } else { "" };
    match fraction {
        None => format!("{sign}{whole}")
            .parse::<i64>()
            .ok()
            .map(Value::from),
        Some(fraction) => format!("{sign}{whole}.{fraction}")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::from),
    }
}

/// Where the cells of a CSV column go, worked out once from the field it maps to.
struct Column<'a> {
    field: &'a str,
    place: Place<'a>,
}

enum Place<'a> {
    Ignore,
    /// A field of the row's line in `properties.products` (see [`group_event`]).
    Product(&'a str),
    /// `properties`, `traits` or `context`, given whole as a JSON object's text.
    Object,
    /// A value typed from the cell (see [`infer`]), at these paths.
    Typed(Paths<'a>),
    /// The cell's text, at these paths.
    Text(Paths<'a>),
}

/// Where a field's value goes in a message: one path, or two for a field Segment puts
/// in two places (see [`paths_of`]).
type Paths<'a> = Vec<Vec<&'a str>>;

impl<'a> Column<'a> {
    fn of(field: &'a str) -> Column<'a> {
        let place = match field {
            "ignore" => Place::Ignore,
            f if f.starts_with("product.") => Place::Product(&f["product.".len()..]),
            "properties" | "traits" | "context" => Place::Object,
            f if f.starts_with("properties.")
                || f.starts_with("traits.")
                || f.starts_with("context.")
                || f == "revenue" =>
            {
                Place::Typed(paths_of(f))
            }
            f => Place::Text(paths_of(f)),
        };
        Column { field, place }
    }
}

/// Places a value at a field of a Segment message (`user_id` → `userId`, `campaign` →
/// `context.campaign.name`, `properties.x` → `properties.x`, `context.page.path` → the
/// `path` of `context.page`, …).
fn set_field(m: &mut Message, field: &str, value: Value) {
    place(m, &paths_of(field), value);
}

/// The paths of a message a field's value goes to, in the order they are written.
fn paths_of(field: &str) -> Paths<'_> {
    let one = |path: &[&'static str]| vec![path.to_vec()];
    match field {
        "user_id" => one(&["userId"]),
        "anonymous_id" => one(&["anonymousId"]),
        "previous_id" => one(&["previousId"]),
        "message_id" => one(&["messageId"]),
        // The group call's own id, and the account of any other event.
        "group_id" => vec![vec!["context", "groupId"], vec!["groupId"]],
        "channel" => one(&["properties", "channel"]),
        "touchpoint" => one(&["properties", "touchpoint"]),
        "revenue" => one(&["properties", "revenue"]),
        "currency" => one(&["properties", "currency"]),
        "campaign" => one(&["context", "campaign", "name"]),
        "utm_source" => one(&["context", "campaign", "source"]),
        "utm_medium" => one(&["context", "campaign", "medium"]),
        "utm_term" => one(&["context", "campaign", "term"]),
        "utm_content" => one(&["context", "campaign", "content"]),
        "email" => vec![vec!["context", "traits", "email"], vec!["traits", "email"]],
        // A dotted path nests: `context.campaign.source`.
        other => vec![other.split('.').collect()],
    }
}

/// Writes a value at each of the paths (a copy at all but the last). Every write first
/// moves the object it changes, if it was kept as text, into the message's fields.
fn place(m: &mut Message, paths: &[Vec<&str>], value: Value) {
    let put = |m: &mut Message, path: &[&str], value: Value| {
        if let Some(key) = path.first() {
            materialise(m, key);
        }
        set_in(m, path, value);
    };
    if let Some((last, first)) = paths.split_last() {
        for path in first {
            put(m, path, value.clone());
        }
        put(m, last, value);
    }
}

/// [`set_at`] from a message's top level.
fn set_in(m: &mut Message, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            m.insert(last, value);
        }
        [first, rest @ ..] => {
            if !matches!(m.get(first), Some(Value::Object(_))) {
                m.insert(first, Value::Object(Map::new()));
            }
            if let Some(Value::Object(inner)) = m.get_mut(first) {
                set_at(inner, rest, value);
            }
        }
    }
}

fn set_at(m: &mut Map<String, Value>, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => {
            m.insert(last.to_string(), value);
        }
        [first, rest @ ..] => {
            // Looked up first: the key is allocated only when the object is new.
            let inner = match m.get_mut(*first) {
                Some(Value::Object(inner)) => inner,
                _ => {
                    m.insert(first.to_string(), Value::Object(Map::new()));
                    match m.get_mut(*first) {
                        Some(Value::Object(inner)) => inner,
                        _ => unreachable!("an object was just inserted"),
                    }
                }
            };
            set_at(inner, rest, value);
        }
    }
}

fn normalised(h: &str) -> String {
    h.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// An amount of ad costs: with `decimal_comma`, as [`comma_number`] reads it; else
/// `1234.50`, `1,234.50` (groups of three set apart by commas) or `1234,50` (a lone
/// comma before one or two digits, as spreadsheets of other locales write it).
fn cost_amount(cell: &str, decimal_comma: bool) -> Option<f64> {
    if decimal_comma {
        return comma_number(cell)?.as_f64();
    }
    if let Ok(x) = cell.parse::<f64>() {
        return Some(x);
    }
    let (whole, fraction) = cell.split_once('.').unwrap_or((cell, ""));
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let rest: Vec<&str> = groups.collect();
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let unsigned = first.trim_start_matches('-');
    if rest.len() == 1 && fraction.is_empty() && (rest[0].len() != 3 || unsigned == "0") {
        // `1234,50`, `0,125`: a decimal comma.
        return format!("{first}.{}", rest[0]).parse().ok();
    }
    if !rest.is_empty()
        && digits(unsigned)
        && unsigned.len() <= 3
        && !unsigned.starts_with('0')
        && rest.iter().all(|g| g.len() == 3 && digits(g))
    {
        let joined: String = std::iter::once(first).chain(rest).collect();
        let number = if fraction.is_empty() {
            joined
        } else {
            format!("{joined}.{fraction}")
        };
        return number.parse().ok();
    }
    None
}

fn looks_like_costs(headers: &[String]) -> bool {
    let h: Vec<String> = headers.iter().map(|h| normalised(h)).collect();
    let has = |names: &[&str]| h.iter().any(|x| names.contains(&x.as_str()));
    let columns = CostColumns::of(headers);
    // A campaign too: a customer export with a date and a "total spent" is not costs.
    columns.cost.is_some()
        && columns.day.is_some()
        && columns.campaign.is_some()
        && !has(&["event", "type", "userid"])
}

/// How the cells of ad costs are read, the lines of the file before the CSV's header, and
/// the constants given (`--set channel=paid_social`, `source`, `currency`) for what the
/// file has no column of.
struct CostsRead<'a> {
    /// The file's name, in messages.
    name: &'a str,
    days: &'a DateReader,
    decimal_comma: bool,
    lines_before: u64,
    constants: &'a BTreeMap<String, String>,
}

/// How many lines at the start of a file may come before the header of ad costs, plus
/// one: Microsoft Advertising writes nine (the report's name, time, time zone, …, rows).
const COSTS_HEADER_LINES: usize = 16;

/// Where the header of ad costs is among the first lines of a head: the lines before it,
/// its byte offset, and its delimiter (`delimiter`, else told by that line).
fn costs_header(head: &[u8], delimiter: Option<u8>) -> Option<(u64, usize, u8)> {
    let bom = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let mut at = bom;
    for (k, line) in head[bom..]
        .split(|b| *b == b'\n')
        .take(COSTS_HEADER_LINES)
        .enumerate()
    {
        let d = delimiter.unwrap_or_else(|| detect_delimiter(&String::from_utf8_lossy(line)));
        if let Ok((_, headers)) = csv_rows::Reader::new(line, d) {
            if looks_like_costs(&headers) {
                return Some((k as u64, if k == 0 { 0 } else { at }, d));
            }
        }
        at += line.len() + 1;
    }
    None
}

/// The columns of ad costs, by parcours' names and those of ad platforms' exports
/// (Google Ads, Meta Ads Manager, Microsoft Advertising, LinkedIn): `Day`, `Reporting
/// starts`, `Campaign name`, `Cost`, `Amount spent (EUR)`, `Impr.`, `Link clicks`…
struct CostColumns {
    day: Option<usize>,
    campaign: Option<usize>,
    cost: Option<usize>,
    /// The currency a cost column names (`Amount spent (EUR)`).
    cost_currency: Option<String>,
    channel: Option<usize>,
    medium: Option<usize>,
    source: Option<usize>,
    currency: Option<usize>,
    impressions: Option<usize>,
    clicks: Option<usize>,
}

impl CostColumns {
    fn of(headers: &[String]) -> CostColumns {
        let names: Vec<String> = headers.iter().map(|h| normalised(h)).collect();
        let col = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
        // `Amount spent (EUR)`, `Cost (EUR)`: a cost in a currency.
        let priced = names.iter().enumerate().find_map(|(i, n)| {
            ["amountspent", "cost", "spend", "totalspent"]
                .iter()
                .find_map(|p| n.strip_prefix(p))
                .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(|c| (i, c.to_ascii_uppercase()))
        });
        let cost = col(&[
            "cost",
            "spend",
            "adspend",
            "amountspent",
            "totalspent",
            "spent",
        ]);
        CostColumns {
            day: col(&[
                "day",
                "date",
                // Microsoft Advertising: its daily reports' time column.
                "timeperiod",
                "gregoriandate",
                "reportingstarts",
                "startdateinutc",
                "startdate",
            ]),
            campaign: col(&["campaign", "campaignname", "utmcampaign"]),
            cost: cost.or(priced.as_ref().map(|(i, _)| *i)),
            cost_currency: priced.filter(|_| cost.is_none()).map(|(_, c)| c),
            channel: col(&["channel"]),
            medium: col(&["medium", "utmmedium"]),
            source: col(&["source", "utmsource"]),
            currency: col(&["currency", "currencycode"]),
            impressions: col(&["impressions", "impr"]),
            clicks: col(&["clicks", "linkclicks"]),
        }
    }
}

/// Whether a row of ad costs whose day is not a date is a line of the report around the
/// days' rows, which ad platforms write below them: its first cell says `Total…` (Google
/// Ads' `Total: Account`, `Total: Campaigns`, a plain `Total` or `Totals` row), `Grand
/// total`, or starts with `©` (Microsoft Advertising's copyright footer). Asked only of
/// rows without a day: a campaign named `Total…` on a day is a day's costs.
fn is_report_total(cells: &[&str]) -> bool {
    let Some(first) = cells.iter().map(|c| c.trim()).find(|c| !c.is_empty()) else {
        return false;
    };
    let first = first.to_lowercase();
    ["total", "grand total", "©", "(c) ", "copyright "]
        .iter()
        .any(|p| first.starts_with(p))
}

/// Ad costs: `day`, `campaign`, `channel` (or `medium`), `source`, `cost`, `currency`,
/// `impressions`, `clicks` (see [`CostColumns`]). Re-importing replaces the rows with the
/// same key.
fn import_costs<R: BufRead>(
    sink: Sink,
    mut reader: csv_rows::Reader<R>,
    headers: &[String],
    read: CostsRead,
    mut rejects: RejectsTo<'_>,
) -> anyhow::Result<Summary> {
    let CostsRead {
        name,
        days,
        decimal_comma,
        lines_before,
        constants,
    } = read;
    let CostColumns {
        day,
        campaign,
        cost,
        cost_currency,
        channel,
        medium,
        source,
        currency,
        impressions,
        clicks,
    } = CostColumns::of(headers);
    let day = day.ok_or_else(|| anyhow!("ad costs need a `day` column"))?;
    let campaign = campaign.ok_or_else(|| anyhow!("ad costs need a `campaign` column"))?;
    let cost = cost.ok_or_else(|| anyhow!("ad costs need a `cost` column"))?;
    // What the file has no column of may be given once for all its rows.
    let constant = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| constants.get(*k).map(String::as_str))
    };
    let (default_channel, default_source) = (
        constant(&["channel", "utm_medium"]),
        constant(&["utm_source", "source"]),
    );
    let default_currency = cost_currency
        .as_deref()
        .or(constant(&["currency"]))
        .unwrap_or("USD")
        .to_uppercase();
    let mut summary = Summary::default();
    let mut rows = Vec::new();
    // A rejected row is told, and written with `--rejects` (its cells as read).
    let mut refuse = |summary: &mut Summary, cells: &[&[u8]], r: Rejection| {
        if let Some((render, out)) = rejects.as_mut() {
            let mut raw = Vec::new();
            render.csv_row(cells.iter().copied(), &rejects::why(&r), &mut raw);
            out.row(&raw);
        }
        summary.rejected.push(r);
    };
    let mut wrong_width = Vec::new();
    // Rows read before the input fails are stored, as an import of events stores them.
    let failure = loop {
        let (batch, read, status) = reader.read_batch(1024, &mut |bad| wrong_width.push(bad));
        if read == 0 {
            break status.err();
        }
        // A row of the wrong width: refused, unless it is the report's footer
        // (Microsoft Advertising ends its reports with a one-cell copyright line).
        for bad in wrong_width.drain(..) {
            let line = bad.line + lines_before;
            let raw: Vec<&[u8]> = bad.cells.iter().map(Vec::as_slice).collect();
            let text: Vec<&str> = raw
                .iter()
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect();
            let dated = text.get(day).is_some_and(|d| days.read(d.trim()).is_ok());
            if !dated && is_report_total(&text) {
                summary.report_totals.push(line);
                continue;
            }
            summary.rows += 1;
            let r = Rejection {
                line,
                code: bad.code.into(),
                field: None,
                message: bad.message,
            };
            refuse(&mut summary, &raw, r);
        }
        for (line, row) in batch.rows() {
            let line = line + lines_before;
            let raw: Vec<&[u8]> = row.raw_cells().collect();
            let Some(cells) = row.cells() else {
                let r = Rejection {
                    line,
                    code: parcours_core::ErrorCode::MalformedCsv.as_str().into(),
                    field: None,
                    message: format!("the row is not UTF-8 ({})", csv_rows::NOT_UTF8),
                };
                refuse(&mut summary, &raw, r);
                summary.rows += 1;
                continue;
            };
            let cells: Vec<&str> = cells.collect();
            let get = |i: Option<usize>| {
                i.and_then(|i| cells.get(i).copied())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let bad = |field: &str, message: String| Rejection {
                line,
                code: "invalid_value".into(),
                field: Some(field.into()),
                message,
            };
            // A row whose day is not a date: the report's totals or footer, else refused.
            let micros = match get(Some(day)).map(|d| days.read(d)) {
                Some(Ok(micros)) => micros,
                _ if is_report_total(&cells) => {
                    summary.report_totals.push(line);
                    continue;
                }
                None => {
                    summary.rows += 1;
                    refuse(&mut summary, &raw, bad("day", "the day is empty".into()));
                    continue;
                }
                Some(Err(why)) => {
                    summary.rows += 1;
                    refuse(&mut summary, &raw, bad("day", why));
                    continue;
                }
            };
            summary.rows += 1;
            let Some(campaign_name) = get(Some(campaign)) else {
                let r = bad("campaign", "the campaign is empty".into());
                refuse(&mut summary, &raw, r);
                continue;
            };
            let amount = match get(Some(cost)).and_then(|c| cost_amount(c, decimal_comma)) {
                Some(v) if v.is_finite() && v >= 0.0 => v,
                _ => {
                    let r = bad("cost", "the cost must be a number ≥ 0".into());
                    refuse(&mut summary, &raw, r);
                    continue;
                }
            };
            // Counts as exports write them: `12000`, `12,000`, `12 000`, `12.000`.
            let count = |i| {
                let v = get(i)?;
                let grouped = v.chars().all(|c| {
                    c.is_ascii_digit() || [',', '.', ' ', '\u{a0}', '\u{202f}'].contains(&c)
                });
                let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                grouped.then(|| digits.parse::<i64>().ok()).flatten()
            };
            let channel_name = get(channel)
                .or(get(medium))
                .or(default_channel)
                .map(|c| {
                    parcours_core::normalize::canonical_channel(c)
                        .map(str::to_string)
                        .unwrap_or_else(|| c.to_lowercase())
                })
                .unwrap_or_else(|| "other".into());
            rows.push(AdCost {
                day: format_rfc3339(micros)[..10].to_string(),
                campaign: campaign_name.to_string(),
                channel: channel_name,
                source: get(source).or(default_source).unwrap_or("").to_string(),
                cost: amount,
                currency: get(currency)
                    .map(str::to_uppercase)
                    .unwrap_or_else(|| default_currency.clone()),
                impressions: count(impressions),
                clicks: count(clicks),
            });
        }
        if let Err(e) = status {
            break Some(e);
        }
    };
    // Rows of the wrong width were looked at before the others of their batch.
    summary.report_totals.sort_unstable();
    match sink {
        Sink::Store(store, ws) => summary.inserted = store.upsert_costs(ws, rows)? as u64,
        Sink::Check(_) => summary.valid = Some(rows.len() as u64),
    }
    match failure {
        None => Ok(summary),
        Some(e) => Err(anyhow!(e).context(format!(
            "reading {}: the import stopped; the {} rows stored before are kept (importing the file again replaces them)",
            name, summary.inserted
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rejections arrive in any order (parsing threads, the reader's malformed rows,
    /// another file's): the first [`KEPT_REJECTIONS`] by line are kept, every one is
    /// counted under its reason, and a reason's first line is the smallest.
    #[test]
    fn rejected_rows_keep_the_first_by_line_and_count_the_others() {
        let bad = |line: u64, field: &str| Rejection {
            line,
            code: "invalid_value".into(),
            field: Some(field.into()),
            message: format!("line {line}"),
        };
        let (mut a, mut b) = (Rejected::default(), Rejected::default());
        for line in (1..=1_500u64).rev() {
            a.push(bad(2 * line, "day"));
        }
        for line in 0..1_500u64 {
            let field = if (1..4).contains(&line) {
                "cost"
            } else {
                "day"
            };
            b.push(bad(2 * line + 1, field));
        }
        assert_eq!(a.kept().len(), KEPT_REJECTIONS);
        assert_eq!(a.kept().last().map(|r| r.line), Some(2_000));
        a.append(b);
        assert_eq!(a.rows(), 3_000);
        let lines: Vec<u64> = a.kept().iter().map(|r| r.line).collect();
        assert_eq!(lines, (1..=1_000).collect::<Vec<u64>>());
        let reasons: Vec<_> = (a.reasons().into_iter())
            .map(|r| {
                (
                    r.field.clone().unwrap(),
                    r.rows,
                    r.first_line,
                    r.message.clone(),
                )
            })
            .collect();
        assert_eq!(
            reasons,
            [
                ("day".to_string(), 2_997, 1, "line 1".to_string()),
                ("cost".to_string(), 3, 3, "line 3".to_string())
            ]
        );
    }

    #[test]
    fn headers_of_french_exports_map_by_convention() {
        for (header, field) in [
            ("Date", "timestamp"),
            ("Horodatage", "timestamp"),
            ("Événement", "event"),
            ("N° client", "properties.N° client"),
            ("Numéro client", "user_id"),
            ("Code client", "user_id"),
            ("Montant TTC", "revenue"),
            ("Devise", "currency"),
            ("Courriel", "email"),
            ("Adresse e-mail", "email"),
            ("Email Address", "email"),
            ("Canal", "channel"),
            ("Campagne", "campaign"),
            ("ID compte", "group_id"),
            ("Magasin", "properties.Magasin"),
        ] {
            assert_eq!(conventional_field(header), field, "{header}");
        }
    }

    #[test]
    fn the_times_of_a_head_leave_out_a_row_it_cuts() {
        let small = b"user_id,date\nu1,28/03/2026\nu2,01/04/2026\n";
        assert_eq!(head_times(small, b',', &[1]), ["28/03/2026", "01/04/2026"]);
        // A whole head (the file is longer): its last row may be cut, here to `13/0`.
        let mut head = b"user_id,date\n".to_vec();
        let mut whole = 0;
        while head.len() < HEAD_BYTES - 32 {
            head.extend_from_slice(b"u1,01/02/2026\n");
            whole += 1;
        }
        head.extend_from_slice(b"u2,13/0");
        head.resize(HEAD_BYTES, b'9');
        let times = head_times(&head, b',', &[1]);
        assert!(
            times.iter().all(|t| t == "01/02/2026"),
            "{:?}",
            times.last()
        );
        assert_eq!(times.len(), whole);
    }

    #[test]
    fn numbers_with_a_decimal_comma() {
        let number = |cell: &str| comma_number(cell).map(|v| v.to_string());
        for (cell, expected) in [
            ("12,50", Some("12.5")),
            ("-0,5", Some("-0.5")),
            ("+3", Some("3")),
            ("1234", Some("1234")),
            ("1 234,50", Some("1234.5")),
            ("1\u{a0}234\u{a0}567", Some("1234567")),
            ("1\u{202f}234,5", Some("1234.5")),
            ("1.234,50", Some("1234.5")),
            ("1.234", Some("1234")),
            ("0,125", Some("0.125")),
            // Not numbers of that locale: left to the usual reading.
            ("1.5", None),
            ("12,", None),
            (",5", None),
            ("1 23,5", None),
            ("1234 567", None),
            ("1.234 567", None),
            ("000123", None),
            ("12,5,0", None),
            ("abc", None),
            ("", None),
        ] {
            assert_eq!(number(cell).as_deref(), expected, "{cell:?}");
        }
        // With the option, a property cell is typed so; without it, as before.
        assert_eq!(infer("1 234,50", true), serde_json::json!(1234.5));
        assert_eq!(infer("1 234,50", false), serde_json::json!("1 234,50"));
        assert_eq!(infer("1.5", true), serde_json::json!(1.5));
        assert_eq!(infer("007", true), serde_json::json!("007"));
    }

    /// Writes `cents` (an amount in hundredths) as a spreadsheet of a decimal-comma
    /// locale would: groups of three set apart by `separator`, then a comma and the cents.
    fn french(cents: i64, separator: char) -> String {
        let whole = (cents.abs() / 100).to_string();
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(separator);
            }
            grouped.push(digit);
        }
        let sign = if cents < 0 { "-" } else { "" };
        format!("{sign}{grouped},{:02}", cents.abs() % 100)
    }

    proptest::proptest! {
        #[test]
        fn decimal_comma_amounts_read_back(
            cents in -10_000_000_000i64..10_000_000_000,
            separator in proptest::sample::select(vec![' ', '\u{a0}', '\u{202f}', '.']),
        ) {
            let text = french(cents, separator);
            let expected = cents as f64 / 100.0;
            let read = comma_number(&text).and_then(|v| v.as_f64());
            proptest::prop_assert!(read.is_some_and(|x| (x - expected).abs() < 1e-6), "{text:?} → {read:?}");
            let cost = cost_amount(&text, true);
            if cents >= 0 {
                proptest::prop_assert!(cost.is_some_and(|x| (x - expected).abs() < 1e-6), "{text:?}");
            }
        }

        /// Whatever a cell holds, reading it as a number or a date never panics (a
        /// panic would stop the whole import).
        #[test]
        fn any_cell_reads_without_panicking(cell in "\\PC{0,24}|[0-9 ,.+-]{0,16}|[0-9/: APMapm.-]{0,24}") {
            let _ = comma_number(&cell);
            let _ = cost_amount(&cell, false);
            let _ = cost_amount(&cell, true);
            let _ = infer(&cell, true);
            let mut dmy = DateReader::new(None, Some("dmy"), "Europe/Paris").unwrap();
            let _ = dmy.read(&cell);
            let _ = dmy.learn_order(std::iter::once(cell.as_str()));
            let formatted = DateReader::new(Some(cell.clone()), None, "UTC").unwrap();
            let _ = formatted.read("28/03/2026 18:30");
        }
    }

    #[test]
    fn amounts_of_ad_costs() {
        for (cell, comma, expected) in [
            ("120.50", false, Some(120.5)),
            ("1,234.50", false, Some(1234.5)),
            ("1,234", false, Some(1234.0)),
            ("12,5", false, Some(12.5)),
            ("129,90", false, Some(129.9)),
            ("0,125", false, Some(0.125)),
            ("1234,567", false, None),
            ("1,23,456", false, None),
            ("abc", false, None),
            ("1 234,56", true, Some(1234.56)),
            ("1.234", true, Some(1234.0)),
            ("abc", true, None),
        ] {
            assert_eq!(cost_amount(cell, comma), expected, "{cell:?} {comma}");
        }
    }

    #[test]
    fn rows_are_estimated_from_the_first_mebibyte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        let estimate = |text: &[u8]| {
            std::fs::write(&path, text).unwrap();
            let input = Input::open(
                &path,
                Some(text.len() as u64),
                Encoding::Utf8,
                &ProgressBar::hidden(),
            );
            input.unwrap().rows
        };
        assert_eq!(estimate(b""), 0);
        assert_eq!(estimate(b"a,b\n1,2\n3,4\n"), 3);
        // 3 MiB of 64-byte lines, then 1 MiB of 16-byte lines: read from the first.
        let line = |c: &str, len: usize| format!("{}\n", c.repeat(len - 1));
        let text = line("x", 64).repeat(3 << 14) + &line("y", 16).repeat(1 << 16);
        assert_eq!(estimate(text.as_bytes()), (4 << 20) / 64);
    }

    /// A gzip file's rows are estimated from its decompressed head and the part of the
    /// file that held it.
    #[test]
    fn rows_of_a_gzip_file_are_estimated_from_its_content() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv.gz");
        // 65,536 lines of 64 bytes, of varied content (so the whole file compresses
        // about as well as its head), in two gzip members.
        let mut state = 1u64;
        let mut text = String::new();
        for _ in 0..1 << 16 {
            for _ in 0..63 {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                text.push(char::from(b'a' + (state >> 60) as u8));
            }
            text.push('\n');
        }
        let (first, second) = text.split_at(text.len() / 2);
        let mut file = Vec::new();
        for part in [first, second] {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(part.as_bytes()).unwrap();
            file.extend(gz.finish().unwrap());
        }
        std::fs::write(&path, &file).unwrap();
        let mut input = Input::open(
            &path,
            Some(file.len() as u64),
            Encoding::Utf8,
            &ProgressBar::hidden(),
        )
        .unwrap();
        assert_eq!(input.head.bytes.as_slice(), &text.as_bytes()[..1 << 20]);
        assert!((64_000..67_000).contains(&input.rows), "{}", input.rows);
        assert_eq!(detect_format(&path, &input.head.bytes), Format::Csv);
        // The content is the whole text, the head read once.
        let mut content = Vec::new();
        input.content.read_to_end(&mut content).unwrap();
        assert!(content == text.as_bytes());
        let path = dir.path().join("export.JSONL.gz");
        assert_eq!(detect_format(&path, b"a,b"), Format::Jsonl);
    }

    #[cfg(target_os = "linux")]
    fn nice_of_this_thread() -> i32 {
        // SAFETY: reads the calling thread's priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    /// The reader and the parsing threads run at a lower priority than the caller (the
    /// store's writer keeps its own), every row still reaches the consumer in order, and
    /// each chunk says how many events it may hold.
    #[cfg(target_os = "linux")]
    #[test]
    fn parsing_threads_give_way_to_the_writer() {
        let caller = nice_of_this_thread();
        let seen = Mutex::new(Vec::new());
        let read: ReadRows<'_, Lines> = Box::new(|emit, _| {
            seen.lock().unwrap().push(nice_of_this_thread());
            for batch in 0..4u64 {
                let lines = (0..3).map(|i| (batch * 3 + i + 1, 0, 0)).collect();
                emit(Lines {
                    text: Vec::new(),
                    lines,
                });
            }
            Ok(12)
        });
        let convert = |batch: &Lines, i: usize| {
            seen.lock().unwrap().push(nice_of_this_thread());
            let error = PayloadError::new(
                parcours_core::ErrorCode::InvalidValue,
                None,
                "every row is rejected",
            );
            (batch.lines[i].0, Err(error))
        };
        // Each chunk's iterator tells its most events (the store sizes its vector so).
        let hints = Mutex::new(Vec::new());
        let finish = |events: &mut dyn Iterator<Item = Event>| {
            hints.lock().unwrap().push(events.size_hint().1);
            events.count()
        };
        let (stored, rows, rejected) =
            parse_parallel(read, &convert, &[], 2, &finish, None, |chunks| {
                chunks.sum::<usize>()
            })
            .unwrap();
        assert_eq!((stored, rows), (0, 12));
        let lines: Vec<u64> = rejected.kept().iter().map(|r| r.line).collect();
        assert_eq!(lines, (1..=12).collect::<Vec<_>>());
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 1 + 12, "the reader, and each row");
        assert!(
            seen.iter().all(|&n| n == (caller + NICER).min(19)),
            "{seen:?} (caller {caller})"
        );
        assert_eq!(
            nice_of_this_thread(),
            caller,
            "the caller's own is unchanged"
        );
    }
}
