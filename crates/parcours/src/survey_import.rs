//! `parcours surveys import`: the CSV exports of survey tools (Typeform, SurveyMonkey,
//! Qualtrics, Google Forms, Delighted, …) as `Survey Responded` events of one survey.
//!
//! Exports differ in everything but their content: a date, maybe an email or a customer
//! id, a score, maybe a comment. The columns are recognised by their names (and, for the
//! score, by the survey's question or by holding numbers on the scale); the choice is
//! printed, and every column can be named instead. Rules in `docs/voice.md` ("Importing
//! survey-tool exports").

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use parcours_core::payload::{parse_message_value, Limits};
use parcours_core::time::format_rfc3339;
use parcours_core::voice::definitions::{admit_response, parse_stored, SurveyDef};
use parcours_core::voice::scores::Scale;
use parcours_core::voice::surveys::SURVEY_EVENT;
use parcours_core::Event;
use parcours_store::{IdentityKind, Store, WorkspaceId};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::dates::{detect_delimiter, DateArgs};
use crate::import::{Rejection, Summary};
use crate::rejects::{self, Rejects, Render};

#[derive(Args, Debug, Clone, Default)]
pub struct SurveyImportArgs {
    /// The export (CSV; the delimiter — comma, semicolon or tab — is detected).
    pub file: PathBuf,
    /// The survey the rows answer: a defined survey, or nps, csat, ces.
    #[arg(long)]
    pub survey: String,
    /// The workspace to import into.
    #[arg(long, default_value = "default")]
    pub workspace: String,
    /// The column of the score (default: recognised by name, by the survey's question,
    /// else the one column of numbers on the scale).
    #[arg(long, value_name = "COLUMN")]
    pub score_column: Option<String>,
    /// The column of the free-text answer.
    #[arg(long, value_name = "COLUMN")]
    pub comment_column: Option<String>,
    /// The column of the response date.
    #[arg(long, value_name = "COLUMN")]
    pub date_column: Option<String>,
    /// The column of the respondent's userId.
    #[arg(long, value_name = "COLUMN")]
    pub user_column: Option<String>,
    /// The column of the respondent's email.
    #[arg(long, value_name = "COLUMN")]
    pub email_column: Option<String>,
    /// The column of the survey tool's response id (re-importing a response replaces
    /// nothing and adds nothing).
    #[arg(long, value_name = "COLUMN")]
    pub id_column: Option<String>,
    /// Keep this column too, as a property named after it (repeatable).
    #[arg(long = "keep", value_name = "COLUMN")]
    pub keep: Vec<String>,
    #[command(flatten)]
    pub dates: DateArgs,
    /// The character encoding of the export: utf-8, or windows-1252 (also read for
    /// latin1), in which spreadsheets of Western European locales save plain "CSV".
    #[arg(long, value_enum, default_value = "utf-8")]
    pub encoding: crate::encoding::Encoding,
    /// CSV delimiter (default: detected from the header line).
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Write the rejected rows to this file, as the export has them, each with why in a
    /// last column `parcours_rejected`: fix them there and import that file the same way.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Read and check everything, store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON (the columns used, the counts, the rejected rows).
    #[arg(long)]
    pub json: bool,
}

/// What each column is for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns {
    pub date: usize,
    pub score: Option<usize>,
    pub comment: Option<usize>,
    pub user: Option<usize>,
    pub email: Option<usize>,
    pub id: Option<usize>,
    pub keep: Vec<(usize, String)>,
}

/// A header reduced to what tells it: lowercase letters and digits (accents kept).
fn norm(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The column named `name` (exactly, or by its normalised form).
fn named(headers: &[String], name: &str, option: &str) -> anyhow::Result<usize> {
    headers
        .iter()
        .position(|h| h.trim() == name.trim())
        .or_else(|| headers.iter().position(|h| norm(h) == norm(name)))
        .ok_or_else(|| anyhow!("{option} {name:?}: no such column among {headers:?}"))
}

/// The first column whose normalised header is one of `names`, in their order of
/// preference, among the columns not taken yet.
fn by_names(headers: &[String], taken: &[usize], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| {
        headers
            .iter()
            .enumerate()
            .position(|(i, h)| !taken.contains(&i) && norm(h) == *n)
    })
}

/// The first free column whose normalised header contains one of `words`.
fn containing(headers: &[String], taken: &[usize], words: &[&str]) -> Option<usize> {
    headers
        .iter()
        .enumerate()
        .find(|(i, h)| !taken.contains(i) && words.iter().any(|w| norm(h).contains(w)))
        .map(|(i, _)| i)
}

const DATE_NAMES: &[&str] = &[
    "submitdateutc",
    "submitdate",
    "submittedat",
    "submittedon",
    "datesubmitted",
    "enddate",
    "recordeddate",
    "completedat",
    "completeddate",
    "responsedate",
    "respondedat",
    "createdutc",
    "createdat",
    "created",
    "timestamp",
    "horodateur",
    "horodatage",
    "datederéponse",
    "date",
];
const EMAIL_NAMES: &[&str] = &[
    "email",
    "emailaddress",
    "recipientemail",
    "respondentemail",
    "adresseemail",
    "adressemail",
    "courriel",
];
const USER_NAMES: &[&str] = &[
    "userid",
    "customerid",
    "externalreference",
    "externaldatareference",
    "externalid",
    "personid",
    "contactid",
    "clientid",
    "memberid",
    "idclient",
];
const ID_NAMES: &[&str] = &["responseid", "respondentid", "submissionid", "token"];
const COMMENT_NAMES: &[&str] = &[
    "comment",
    "comments",
    "commentaire",
    "commentaires",
    "feedback",
    "reason",
    "why",
    "pourquoi",
    "verbatim",
    "remarks",
    "remarques",
    "text",
];

/// The words of a kind's usual question, to find its column in an export whose headers
/// are the questions.
fn score_words(def: &SurveyDef) -> &'static [&'static str] {
    use parcours_core::voice::definitions::SurveyKind;
    match def.kind {
        SurveyKind::Nps => &["recommend", "recommand"],
        SurveyKind::Csat => &["satisf"],
        SurveyKind::Ces => &["easy", "effort", "facile"],
        SurveyKind::Rating => &["rate", "rating", "note"],
        SurveyKind::Open => &[],
    }
}

/// The column an option names, else the one `auto` recognises among the columns not
/// taken yet; the column found is taken.
fn choose(
    headers: &[String],
    taken: &mut Vec<usize>,
    explicit: &Option<String>,
    option: &str,
    auto: impl Fn(&[usize]) -> Option<usize>,
) -> anyhow::Result<Option<usize>> {
    let found = match explicit {
        Some(name) => Some(named(headers, name, option)?),
        None => auto(taken),
    };
    if let Some(i) = found {
        taken.push(i);
    }
    Ok(found)
}

/// The column of the response dates.
fn date_column(headers: &[String], args: &SurveyImportArgs) -> anyhow::Result<usize> {
    if let Some(name) = &args.date_column {
        return named(headers, name, "--date-column");
    }
    by_names(headers, &[], DATE_NAMES)
        .or_else(|| {
            headers.iter().position(|h| {
                let n = norm(h);
                (n.contains("date") || n.contains("time")) && !n.contains("start")
            })
        })
        .ok_or_else(|| {
            anyhow!("no date column among {headers:?}: name it with --date-column COLUMN")
        })
}

/// Recognises the columns of an export (explicit choices first). Names are matched on
/// the header; questions and key words on `labels` too (the header with the header rows
/// under it: Qualtrics puts the question text there). `rows` are the data rows, for the
/// last resort: the one column of numbers on the scale.
pub fn detect(
    headers: &[String],
    labels: &[String],
    rows: &[Vec<String>],
    def: &SurveyDef,
    args: &SurveyImportArgs,
) -> anyhow::Result<Columns> {
    let date = date_column(headers, args)?;
    let mut taken: Vec<usize> = vec![date];
    let id = choose(headers, &mut taken, &args.id_column, "--id-column", |t| {
        by_names(headers, t, ID_NAMES).or_else(|| {
            // Typeform's response token is the column `#`.
            headers
                .iter()
                .enumerate()
                .position(|(i, h)| !t.contains(&i) && h.trim() == "#")
        })
    })?;
    let email = choose(
        headers,
        &mut taken,
        &args.email_column,
        "--email-column",
        |t| by_names(headers, t, EMAIL_NAMES).or_else(|| containing(headers, t, &["email"])),
    )?;
    let user = choose(
        headers,
        &mut taken,
        &args.user_column,
        "--user-column",
        |t| by_names(headers, t, USER_NAMES),
    )?;
    let scale = def.scale();
    let question = norm(&def.question);
    let score = match scale {
        None => choose(
            headers,
            &mut taken,
            &args.score_column,
            "--score-column",
            |_| None,
        )?,
        Some(scale) => {
            let own = [def.id.as_str(), &format!("{}score", def.id)].map(norm);
            let own: Vec<&str> = own.iter().map(String::as_str).collect();
            let found = choose(
                headers,
                &mut taken,
                &args.score_column,
                "--score-column",
                |t| {
                    by_names(headers, t, &own)
                        .or_else(|| {
                            by_names(
                                headers,
                                t,
                                &["score", "rating", "note", "nps", "npsscore", "csat", "ces"],
                            )
                        })
                        .or_else(|| {
                            (!question.is_empty())
                                .then(|| containing(labels, t, &[question.as_str()]))
                                .flatten()
                        })
                        .or_else(|| containing(labels, t, score_words(def)))
                },
            )?;
            match found {
                Some(i) => Some(i),
                None => {
                    let numeric: Vec<usize> = (0..headers.len())
                        .filter(|i| !taken.contains(i) && on_scale(rows, *i, scale))
                        .collect();
                    match numeric.as_slice() {
                        [one] => {
                            taken.push(*one);
                            Some(*one)
                        }
                        [] => bail!(
                            "no score column among {headers:?}: name it with --score-column COLUMN"
                        ),
                        many => bail!(
                            "several columns hold scores on the scale ({}): name one with --score-column COLUMN",
                            many.iter()
                                .map(|i| format!("{:?}", headers[*i]))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }
                }
            }
        }
    };
    let follow = def.follow_up.as_ref().map(|f| norm(&f.question));
    let comment = choose(
        headers,
        &mut taken,
        &args.comment_column,
        "--comment-column",
        |t| {
            by_names(headers, t, COMMENT_NAMES)
                .or_else(|| {
                    follow
                        .as_deref()
                        .filter(|q| !q.is_empty())
                        .and_then(|q| containing(labels, t, &[q]))
                })
                .or_else(|| {
                    // An open question's answers are its comments.
                    (scale.is_none() && !question.is_empty())
                        .then(|| containing(labels, t, &[question.as_str()]))
                        .flatten()
                })
                .or_else(|| {
                    containing(
                        labels,
                        t,
                        &[
                            "why",
                            "pourquoi",
                            "improve",
                            "améliorer",
                            "comment",
                            "feedback",
                            "tellus",
                            "anythingelse",
                            "suggestion",
                            "remarque",
                        ],
                    )
                })
        },
    )?;
    if scale.is_none() && comment.is_none() {
        bail!("no answer column among {headers:?} for this open question: name it with --comment-column COLUMN");
    }
    let mut keep = Vec::new();
    for name in &args.keep {
        let i = named(headers, name, "--keep")?;
        keep.push((i, property_name(&headers[i])));
    }
    Ok(Columns {
        date,
        score,
        comment,
        user,
        email,
        id,
        keep,
    })
}

/// A header as a property name: `Plan Type` → `plan_type`.
fn property_name(header: &str) -> String {
    let mut out = String::new();
    for c in header.trim().trim_start_matches('\u{feff}').chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Whether a column's non-empty cells all lead with a number on the scale (and some do).
fn on_scale(rows: &[Vec<String>], col: usize, scale: Scale) -> bool {
    let (lo, hi) = scale.bounds();
    let mut seen = false;
    for row in rows {
        let Some(cell) = row.get(col).map(|c| c.trim()).filter(|c| !c.is_empty()) else {
            continue;
        };
        match leading_number(cell) {
            Some(x) if x >= lo && x <= hi => seen = true,
            _ => return false,
        }
    }
    seen
}

/// The number a score cell starts with: `9`, `9.5`, `9,5`, `10 - Extremely likely`.
fn leading_number(cell: &str) -> Option<f64> {
    let t = cell.trim();
    let end = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && c == '-') || c == '.' || c == ','))
        .map_or(t.len(), |(i, _)| i);
    let number = t[..end].replace(',', ".");
    let rest = t[end..].trim_start();
    // `10 - Extremely likely`, `4 (Satisfied)`, `9/10`: a label may follow a separator.
    let label_ok = rest.is_empty()
        || rest.starts_with(['-', '–', '(', '/', ':', '='])
        || rest.starts_with(char::is_whitespace);
    if !label_ok || number.is_empty() {
        return None;
    }
    number.parse().ok().filter(|x: &f64| x.is_finite())
}

/// The standard answer labels of the CSAT (1–5) and CES (1–7) scales, English and
/// French, as survey tools export them when asked for the answer text.
const CSAT_LABELS: &[(&str, f64)] = &[
    ("very unsatisfied", 1.0),
    ("very dissatisfied", 1.0),
    ("très insatisfait", 1.0),
    ("unsatisfied", 2.0),
    ("dissatisfied", 2.0),
    ("insatisfait", 2.0),
    ("neutral", 3.0),
    ("neither satisfied nor dissatisfied", 3.0),
    ("neutre", 3.0),
    ("ni satisfait ni insatisfait", 3.0),
    ("satisfied", 4.0),
    ("satisfait", 4.0),
    ("very satisfied", 5.0),
    ("très satisfait", 5.0),
];
const CES_LABELS: &[(&str, f64)] = &[
    ("strongly disagree", 1.0),
    ("pas du tout d'accord", 1.0),
    ("disagree", 2.0),
    ("pas d'accord", 2.0),
    ("somewhat disagree", 3.0),
    ("plutôt pas d'accord", 3.0),
    ("neither agree nor disagree", 4.0),
    ("neutral", 4.0),
    ("ni d'accord ni pas d'accord", 4.0),
    ("neutre", 4.0),
    ("somewhat agree", 5.0),
    ("plutôt d'accord", 5.0),
    ("agree", 6.0),
    ("d'accord", 6.0),
    ("strongly agree", 7.0),
    ("tout à fait d'accord", 7.0),
];

/// The score an answer label stands for: the definition's end labels, else the standard
/// labels of its scale.
fn label_score(def: &SurveyDef, cell: &str) -> Option<f64> {
    let text = cell.trim().to_lowercase().replace('’', "'");
    let (lo, hi) = def.scale()?.bounds();
    let is = |label: &Option<String>| {
        label
            .as_deref()
            .is_some_and(|l| l.trim().to_lowercase().replace('’', "'") == text)
    };
    if is(&def.low_label) {
        return Some(lo);
    }
    if is(&def.high_label) {
        return Some(hi);
    }
    let table = match def.scale()? {
        Scale::Csat => CSAT_LABELS,
        Scale::Ces => CES_LABELS,
        _ => return None,
    };
    table.iter().find(|(l, _)| *l == text).map(|(_, x)| *x)
}

/// What importing an export did.
#[derive(Debug, Default, serde::Serialize)]
pub struct SurveyImport {
    #[serde(flatten)]
    pub summary: Summary,
    /// Valid responses (stored, already there, or — in a dry run — that would be).
    pub responses: u64,
    /// Header rows under the header (SurveyMonkey, Qualtrics), skipped.
    pub header_rows: u64,
    /// Rows with neither a score nor a comment: the respondent did not answer.
    pub unanswered: u64,
    /// Responses tied to a person parcours knew by their email.
    pub known_emails: u64,
    /// Responses whose email parcours did not know: recorded under it as userId.
    pub new_emails: u64,
    /// Responses with neither a userId nor an email: one anonymous respondent each.
    pub anonymous: u64,
}

/// Finds the people of emails, once each.
struct People<'a> {
    store: &'a dyn Store,
    ws: WorkspaceId,
    seen: HashMap<String, Option<(bool, String)>>,
}

impl People<'_> {
    /// The identity to record a response under: the person's userId (else their
    /// anonymousId) when parcours knows the email.
    fn of_email(&mut self, email: &str) -> anyhow::Result<Option<(bool, String)>> {
        let key = email.trim().to_lowercase();
        if let Some(found) = self.seen.get(&key) {
            return Ok(found.clone());
        }
        let found = match self.store.resolve(self.ws, &key)? {
            None => None,
            Some(person) => self.store.person(self.ws, person)?.and_then(|p| {
                let of = |kind| {
                    p.identities
                        .iter()
                        .find(|i| i.kind == kind)
                        .map(|i| i.value.clone())
                };
                of(IdentityKind::UserId)
                    .map(|u| (true, u))
                    .or_else(|| of(IdentityKind::AnonymousId).map(|a| (false, a)))
            }),
        };
        self.seen.insert(key, found.clone());
        Ok(found)
    }
}

/// The definition to import into: a defined survey, or one of the standard ones.
fn survey_def(defs: &[SurveyDef], id: &str) -> anyhow::Result<SurveyDef> {
    if let Some(d) = defs.iter().find(|d| d.id == id) {
        return Ok(d.clone());
    }
    use parcours_core::voice::definitions::SurveyKind;
    let kind = match id {
        "nps" => SurveyKind::Nps,
        "csat" => SurveyKind::Csat,
        "ces" => SurveyKind::Ces,
        _ => bail!("no survey `{id}` in this workspace: define it first (`parcours surveys define FILE.toml`), or import into nps, csat or ces"),
    };
    // A standard survey without a definition: its scale, and no question to look for.
    Ok(SurveyDef {
        id: id.to_string(),
        kind,
        question: String::new(),
        min: None,
        max: None,
        low_label: None,
        high_label: None,
        touchpoint: None,
        stage: None,
        follow_up: None,
    })
}

/// Reads an export, checks every row, and (unless `dry_run`) stores the responses.
/// Returns the columns used and what happened.
pub fn import(
    store: &dyn Store,
    ws: WorkspaceId,
    args: &SurveyImportArgs,
) -> anyhow::Result<(Vec<String>, Columns, SurveyImport)> {
    let defs = parse_stored(store.surveys(ws)?);
    let def = survey_def(&defs, &args.survey)?;
    let text = crate::import::read_content(&args.file, args.encoding)?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow!(
            "{} is not UTF-8 (byte {}): {}",
            args.file.display(),
            e.utf8_error().valid_up_to(),
            crate::csv_rows::NOT_UTF8
        )
    })?;
    let delimiter = match args.delimiter {
        Some(d) => d as u8,
        None => detect_delimiter(text.lines().next().unwrap_or("")),
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("reading the CSV header")?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut out = SurveyImport::default();
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    // (A flexible reader of UTF-8 text reports no error: the branch below is a guard, and
    // its rows, which have no cells, would not be in a `--rejects` file.)
    for record in reader.records() {
        out.summary.rows += 1;
        match record {
            Ok(r) => rows.push((
                r.position()
                    .map_or(0, |p| crate::csv_rows::first_line(&text, p)),
                r.iter().map(str::to_string).collect(),
            )),
            Err(e) => out.summary.rejected.push(Rejection {
                line: e
                    .position()
                    .map_or(0, |p| crate::csv_rows::first_line(&text, p)),
                code: "malformed_csv".into(),
                field: None,
                message: e.to_string(),
            }),
        }
    }
    let date_col = date_column(&headers, args)?;
    let mut dates = args.dates.reader()?;
    // Rows right under the header whose date is not a date are more header
    // (SurveyMonkey's answer labels, Qualtrics' question texts and import ids).
    let lead = rows
        .iter()
        .take(MAX_HEADER_ROWS)
        .take_while(|(_, r)| !r.get(date_col).is_some_and(|c| looks_like_date(c)))
        .count();
    out.header_rows = lead as u64;
    let all = &rows;
    let rows = &rows[lead..];
    dates.learn_order(
        rows.iter()
            .filter_map(|(_, r)| r.get(date_col).map(String::as_str)),
    )?;
    let labels: Vec<String> = (0..headers.len())
        .map(|i| {
            let mut label = headers[i].clone();
            for (_, r) in &all[..lead] {
                if let Some(c) = r.get(i) {
                    label.push(' ');
                    label.push_str(c);
                }
            }
            label
        })
        .collect();
    let cells: Vec<Vec<String>> = rows.iter().map(|(_, r)| r.clone()).collect();
    let columns = detect(&headers, &labels, &cells, &def, args)?;

    let received = crate::server::now_micros();
    let mut people = People {
        store,
        ws,
        seen: HashMap::new(),
    };
    let mut events: Vec<Event> = Vec::new();
    let cell = |r: &[String], i: Option<usize>| {
        i.and_then(|i| r.get(i))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    };
    // With `--rejects`: each rejected row (its index in `rows`) and why.
    let mut refused: Vec<(usize, String)> = Vec::new();
    let mut refuse = |out: &mut SurveyImport, index: usize, r: Rejection| {
        if args.rejects.is_some() {
            refused.push((index, rejects::why(&r)));
        }
        out.summary.rejected.push(r);
    };
    for (index, (line, r)) in rows.iter().enumerate() {
        let line = *line;
        let mut reject = |out: &mut SurveyImport, field: &str, code: &str, message: String| {
            let r = Rejection {
                line,
                code: code.into(),
                field: Some(field.to_string()),
                message,
            };
            refuse(out, index, r);
        };
        let score_text = cell(r, columns.score);
        let comment = cell(r, columns.comment);
        if score_text.is_none() && comment.is_none() {
            out.unanswered += 1;
            continue;
        }
        let time = match cell(r, Some(columns.date)).map(|c| dates.read(&c)) {
            Some(Ok(t)) => t,
            Some(Err(e)) => {
                reject(&mut out, &headers[columns.date], "invalid_value", e);
                continue;
            }
            None => {
                reject(
                    &mut out,
                    &headers[columns.date],
                    "missing_field",
                    "no date".into(),
                );
                continue;
            }
        };
        let mut properties = Map::new();
        properties.insert("survey".into(), json!(def.id));
        if let Some(s) = &score_text {
            match leading_number(s).or_else(|| label_score(&def, s)) {
                Some(x) => properties.insert("score".into(), json!(x)),
                None => {
                    let col = &headers[columns.score.expect("a score cell has a column")];
                    reject(
                        &mut out,
                        col,
                        "invalid_value",
                        format!("{s:?} is not a score"),
                    );
                    continue;
                }
            };
        }
        if let Some(c) = &comment {
            properties.insert("comment".into(), json!(c));
        }
        for (i, name) in &columns.keep {
            if let Some(v) = cell(r, Some(*i)) {
                properties.insert(name.clone(), json!(v));
            }
        }
        let mut message = Map::new();
        message.insert("type".into(), json!("track"));
        message.insert("event".into(), json!(SURVEY_EVENT));
        message.insert("timestamp".into(), json!(format_rfc3339(time)));
        let email = cell(r, columns.email);
        let response_id = cell(r, columns.id);
        // Who answered, counted once the response is accepted.
        let counter: Option<fn(&mut SurveyImport) -> &mut u64> =
            match (cell(r, columns.user), &email) {
                (Some(u), _) => {
                    message.insert("userId".into(), json!(u));
                    None
                }
                (None, Some(e)) => match people.of_email(e)? {
                    Some((is_user, id)) => {
                        let key = if is_user { "userId" } else { "anonymousId" };
                        message.insert(key.into(), json!(id));
                        Some(|o| &mut o.known_emails)
                    }
                    None => {
                        message.insert("userId".into(), json!(e.to_lowercase()));
                        Some(|o| &mut o.new_emails)
                    }
                },
                (None, None) => {
                    let who = response_id.clone().unwrap_or_else(|| digest(r));
                    message.insert(
                        "anonymousId".into(),
                        json!(format!("survey-{}-{who}", def.id)),
                    );
                    Some(|o| &mut o.anonymous)
                }
            };
        let mut context = Map::new();
        if let Some(e) = &email {
            context.insert("traits".into(), json!({ "email": e }));
        }
        context.insert(
            "library".into(),
            json!({"name": "parcours-survey-import", "version": env!("CARGO_PKG_VERSION")}),
        );
        message.insert("context".into(), Value::Object(context));
        message.insert("properties".into(), Value::Object(properties));
        // The response id (else the row) names the message: importing again adds nothing.
        let id = format!(
            "svy-{}-{}",
            def.id,
            response_id.unwrap_or_else(|| digest(r))
        );
        let parsed = parse_message_value(message, received, &Limits::default(), &mut || id.clone())
            .and_then(|mut e| {
                admit_response(std::slice::from_ref(&def), &mut e)?;
                Ok(e)
            });
        match parsed {
            Ok(e) => {
                if let Some(count) = counter {
                    *count(&mut out) += 1;
                }
                events.push(e);
            }
            Err(e) => {
                // Name the export's column rather than the event's property.
                let field = match e.field.as_deref() {
                    Some("properties.score") => columns.score.map(|i| headers[i].clone()),
                    Some("properties.comment") => columns.comment.map(|i| headers[i].clone()),
                    other => other.map(str::to_string),
                };
                let r = Rejection {
                    line,
                    code: e.code.as_str().into(),
                    field,
                    message: e.message,
                };
                refuse(&mut out, index, r);
            }
        }
    }
    if let Some(path) = &args.rejects {
        let mut file = Rejects::create(path, args.encoding)?;
        file.header(&headers, delimiter);
        let render = Render::csv(&headers, delimiter);
        // The rows of more header (Qualtrics' question texts…), as the export has them,
        // so that the rejects are recognised as the export was.
        for (_, r) in &all[..lead] {
            let mut raw = Vec::new();
            render.csv_row(r.iter().map(|c| c.as_bytes()), "", &mut raw);
            file.row(&raw);
        }
        for (index, why) in refused {
            let mut raw = Vec::new();
            render.csv_row(rows[index].1.iter().map(|c| c.as_bytes()), &why, &mut raw);
            file.row(&raw);
        }
        let path = file.finish()?;
        out.summary.rejects_file = Some(path.display().to_string());
    }
    out.responses = events.len() as u64;
    if !args.dry_run {
        for chunk in events.chunks(5000) {
            let o = store.append(ws, chunk.to_vec())?;
            out.summary.inserted += o.inserted as u64;
            out.summary.duplicates += o.duplicates as u64;
        }
    }
    Ok((headers, columns, out))
}

/// The most header rows under the header (Qualtrics has two).
const MAX_HEADER_ROWS: usize = 3;

/// Whether a header-row cell could be a date (a digit in it, as every date format has).
fn looks_like_date(cell: &str) -> bool {
    cell.chars().any(|c| c.is_ascii_digit()) && !cell.trim_start().starts_with('{')
}

/// A row's content digest, for rows without a response id.
fn digest(r: &[String]) -> String {
    let d = Sha256::digest(r.join("\u{1f}").as_bytes());
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The columns used, by role, for the JSON outcome.
pub fn columns_json(headers: &[String], c: &Columns) -> Value {
    let name = |i: Option<usize>| i.map(|i| headers[i].clone());
    json!({
        "date": name(Some(c.date)),
        "score": name(c.score),
        "comment": name(c.comment),
        "user_id": name(c.user),
        "email": name(c.email),
        "response_id": name(c.id),
        "kept": c.keep.iter().map(|(i, p)| json!({"column": headers[*i], "property": p})).collect::<Vec<_>>(),
    })
}

/// Prints what an import did, with the columns it used.
pub fn print(path: &Path, headers: &[String], c: &Columns, r: &SurveyImport, dry_run: bool) {
    let name = |i: Option<usize>| i.map_or("-".to_string(), |i| format!("{:?}", headers[i]));
    println!(
        "columns: date {}, score {}, comment {}, user id {}, email {}, response id {}",
        name(Some(c.date)),
        name(c.score),
        name(c.comment),
        name(c.user),
        name(c.email),
        name(c.id)
    );
    if dry_run {
        println!("dry run: nothing stored; {} valid responses", r.responses);
    }
    r.summary.print(path);
    if r.header_rows > 0 {
        println!("  {} header rows under the header skipped", r.header_rows);
    }
    if r.unanswered > 0 {
        println!("  {} rows without an answer skipped", r.unanswered);
    }
    if r.known_emails + r.new_emails > 0 {
        println!(
            "  by email: {} respondents known to parcours, {} new (recorded with the email as userId)",
            r.known_emails, r.new_emails
        );
    }
    if r.anonymous > 0 {
        println!(
            "  {} responses without a userId or email (one anonymous respondent each)",
            r.anonymous
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_read_from_numbers_and_labels() {
        for (cell, x) in [
            ("9", Some(9.0)),
            ("4,5", Some(4.5)),
            ("10 - Extremely likely", Some(10.0)),
            ("4 (Satisfied)", Some(4.0)),
            ("9/10", Some(9.0)),
            ("-1", Some(-1.0)),
            ("5stars", None),
            ("Very satisfied", None),
            ("", None),
        ] {
            assert_eq!(leading_number(cell), x, "{cell:?}");
        }
        let csat = survey_def(&[], "csat").unwrap();
        assert_eq!(label_score(&csat, "Very satisfied"), Some(5.0));
        assert_eq!(label_score(&csat, " très insatisfait "), Some(1.0));
        assert_eq!(label_score(&csat, "Great"), None);
        let ces = survey_def(&[], "ces").unwrap();
        assert_eq!(label_score(&ces, "Plutôt d’accord"), Some(5.0));
        // A definition's end labels stand for its ends.
        let mut nps = survey_def(&[], "nps").unwrap();
        nps.low_label = Some("Not at all likely".into());
        nps.high_label = Some("Extremely likely".into());
        assert_eq!(label_score(&nps, "extremely likely"), Some(10.0));
        assert_eq!(label_score(&nps, "Not at all likely"), Some(0.0));
        assert_eq!(label_score(&nps, "Maybe"), None);
    }

    #[test]
    fn columns_are_recognised_or_named() {
        let headers: Vec<String> = ["Response ID", "Date", "Score", "Status", "Plan Type"]
            .map(String::from)
            .to_vec();
        let rows = vec![vec![
            "r1".to_string(),
            "2026-03-02".into(),
            "9".into(),
            "1".into(),
            "pro".into(),
        ]];
        let def = survey_def(&[], "nps").unwrap();
        let args = SurveyImportArgs {
            survey: "nps".into(),
            keep: vec!["plan type".into()],
            ..SurveyImportArgs::default()
        };
        let c = detect(&headers, &headers, &rows, &def, &args).unwrap();
        assert_eq!(
            (c.id, c.date, c.score, c.comment),
            (Some(0), 1, Some(2), None)
        );
        assert_eq!(c.keep, [(4, "plan_type".to_string())]);
        // Without a score header, two numeric columns on the scale are ambiguous…
        let unnamed: Vec<String> = ["Response ID", "Date", "Q1", "Status"]
            .map(String::from)
            .to_vec();
        let e = detect(&unnamed, &unnamed, &rows, &def, &args).unwrap_err();
        assert!(e.to_string().contains("\"Q1\", \"Status\""), "{e}");
        // …until one is named.
        let named = SurveyImportArgs {
            score_column: Some("q1".into()),
            keep: vec![],
            ..args.clone()
        };
        let c = detect(&unnamed, &unnamed, &rows, &def, &named).unwrap();
        assert_eq!(c.score, Some(2));
        assert_eq!(detect_delimiter("a;b;c"), b';');
        assert_eq!(detect_delimiter("a\tb\tc,d"), b'\t');
        assert_eq!(property_name("\u{feff} Plan  Type (v2) "), "plan_type_v2");
    }
}
