//! Configuration: one struct, defaults in one place, and four layers applied in order —
//! built-in defaults, a TOML file, `PARCOURS_*` environment variables, command-line flags.
//!
//! Environment variables name a key by its path: `PARCOURS_DATA_DIR` sets `data_dir`,
//! `PARCOURS_SERVER_LISTEN` sets `server.listen`, `PARCOURS_INGEST_RATE_LIMIT_EVENTS_PER_SECOND`
//! sets `ingest.rate_limit_events_per_second`. An unknown `PARCOURS_*` variable is an
//! error, so a typo does not silently leave a default in place.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use parcours_store::{StoreOptions, Synchronous};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The directory holding `parcours.db`.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Seconds given to in-flight requests at shutdown before the writer is drained.
    pub shutdown_grace_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter: `info`, `parcours=debug,info`, …; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_event_bytes: usize,
    /// Largest request body, compressed or not, in bytes.
    pub max_request_bytes: usize,
    pub max_batch_events: usize,
    /// Sustained events per second per workspace; 0 turns rate limiting off.
    pub rate_limit_events_per_second: u64,
    pub rate_limit_burst: u64,
    /// Ingestion requests processed at once; more get 503 with Retry-After.
    pub max_inflight_requests: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `full` (survives power loss) or `normal` (survives a process crash).
    pub synchronous: Synchronous,
    pub readers: usize,
    pub queue_capacity: usize,
    pub max_group_events: usize,
    /// SQLite page cache of the writer, in MiB.
    pub cache_mb: u64,
    /// Memory-mapped reads, in MiB; 0 turns them off.
    pub mmap_mb: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("parcours-data"),
            server: ServerConfig {
                listen: "127.0.0.1:8080".into(),
                shutdown_grace_seconds: 10,
            },
            log: LogConfig {
                format: "text".into(),
                level: "info".into(),
            },
            ingest: IngestConfig {
                max_event_bytes: 32 * 1024,
                max_request_bytes: 512 * 1024,
                max_batch_events: 2500,
                rate_limit_events_per_second: 200_000,
                rate_limit_burst: 400_000,
                max_inflight_requests: 256,
            },
            store: StoreConfig {
                synchronous: Synchronous::Full,
                readers: 4,
                queue_capacity: 1024,
                max_group_events: 20_000,
                cache_mb: 256,
                mmap_mb: 4096,
            },
        }
    }
}

// A section left out of a file, or a key, takes its default (`Config::default`, the one
// place defaults are written): the file alone can be read, and its errors pointed at.
impl Default for ServerConfig {
    fn default() -> Self {
        Config::default().server
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Config::default().log
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Config::default().ingest
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Config::default().store
    }
}

/// The commented example printed by `parcours config print-default`.
pub const DEFAULT_TOML: &str = r#"# parcours configuration.
# Layers, later wins: these defaults, this file (--config or PARCOURS_CONFIG),
# PARCOURS_* environment variables (PARCOURS_SERVER_LISTEN, PARCOURS_DATA_DIR, ...),
# then command-line flags.

# Where parcours keeps its SQLite database (parcours.db).
data_dir = "parcours-data"

[server]
listen = "127.0.0.1:8080"
# Seconds in-flight requests get at shutdown; queued writes are always committed.
shutdown_grace_seconds = 10

[log]
format = "text"          # or "json" for one JSON object per line
level = "info"           # tracing filter; RUST_LOG overrides it

[ingest]
max_event_bytes = 32768          # per event (Segment's limit)
max_request_bytes = 524288       # per request body, compressed or not
max_batch_events = 2500
rate_limit_events_per_second = 200000   # per workspace; 0 turns it off
rate_limit_burst = 400000
max_inflight_requests = 256      # more get 503 + Retry-After

[store]
synchronous = "full"     # "full": an acknowledged event survives power loss; "normal": a process crash
readers = 4              # read-only connections kept open
queue_capacity = 1024    # write jobs waiting for the writer (at least ingest.max_inflight_requests)
max_group_events = 20000 # events committed in one transaction
cache_mb = 256           # SQLite page cache of the writer: large stores import faster with more
mmap_mb = 4096           # memory-mapped reads (address space, not memory); 0 turns them off
"#;

/// Flags that override every other layer.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

impl Config {
    /// Applies the layers. `file` is the `--config` flag; `env` the process environment
    /// (passed in so tests can control it).
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> anyhow::Result<Config> {
        let file = file.map(Path::to_path_buf).or_else(|| {
            env.iter()
                .find(|(k, _)| k == "PARCOURS_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        // The file over the defaults: what it leaves out defaults (every section and key
        // does), and a wrong key or value is reported with its line.
        let base = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .with_context(|| format!("config file {}", path.display()))?
            }
            None => Config::default(),
        };
        let mut value = toml::Value::try_from(base).context("serialising the configuration")?;
        for (key, raw) in env {
            let Some(rest) = key.strip_prefix("PARCOURS_") else {
                continue;
            };
            if rest == "CONFIG" {
                continue;
            }
            set_from_env(&mut value, &rest.to_ascii_lowercase(), raw)
                .with_context(|| format!("environment variable {key}"))?;
        }
        let mut config: Config = value.try_into().context("invalid configuration")?;
        if let Some(d) = &overrides.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(l) = &overrides.listen {
            config.server.listen = l.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !matches!(self.log.format.as_str(), "text" | "json") {
            bail!(
                "log.format must be \"text\" or \"json\", not {:?}",
                self.log.format
            );
        }
        if self.ingest.max_event_bytes == 0
            || self.ingest.max_request_bytes < self.ingest.max_event_bytes
        {
            bail!("ingest.max_request_bytes must be at least ingest.max_event_bytes, and both positive");
        }
        if self.ingest.max_inflight_requests == 0 {
            bail!("ingest.max_inflight_requests must be positive");
        }
        // Each request in flight queues one write, from the server's async threads, which
        // must never wait for room in the queue.
        if self.store.queue_capacity < self.ingest.max_inflight_requests {
            bail!(
                "store.queue_capacity ({}) must be at least ingest.max_inflight_requests ({}): each ingestion request in flight queues one write",
                self.store.queue_capacity,
                self.ingest.max_inflight_requests
            );
        }
        Ok(())
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            synchronous: self.store.synchronous,
            readers: self.store.readers,
            queue_capacity: self.store.queue_capacity,
            max_group_events: self.store.max_group_events,
            cache_mb: self.store.cache_mb,
            mmap_mb: self.store.mmap_mb,
        }
    }
}

/// Finds the key an environment variable names (`server_listen` → `server.listen`) and
/// sets it, parsed as the type the default has.
fn set_from_env(value: &mut toml::Value, name: &str, raw: &str) -> anyhow::Result<()> {
    let table = value.as_table_mut().expect("config is a table");
    if let Some(slot) = table.get_mut(name) {
        if !slot.is_table() {
            *slot = typed(slot, raw)?;
            return Ok(());
        }
    }
    for (section, inner) in table.iter_mut() {
        let Some(key) = name
            .strip_prefix(section.as_str())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        if let Some(slot) = inner.as_table_mut().and_then(|t| t.get_mut(key)) {
            *slot = typed(slot, raw)?;
            return Ok(());
        }
    }
    bail!("no configuration key is named {name:?} (see `parcours config print-default`)")
}

fn typed(default: &toml::Value, raw: &str) -> anyhow::Result<toml::Value> {
    Ok(match default {
        toml::Value::Integer(_) => toml::Value::Integer(
            raw.trim()
                .parse()
                .with_context(|| format!("{raw:?} is not an integer"))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(
            raw.trim()
                .parse()
                .with_context(|| format!("{raw:?} is not true or false"))?,
        ),
        toml::Value::Float(_) => toml::Value::Float(
            raw.trim()
                .parse()
                .with_context(|| format!("{raw:?} is not a number"))?,
        ),
        _ => toml::Value::String(raw.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn printed_default_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\n[server]\nlisten = \"0.0.0.0:1\"\n[ingest]\nmax_batch_events = 10\n").unwrap();
        let e = env(&[
            ("PARCOURS_SERVER_LISTEN", "127.0.0.1:2"),
            ("PARCOURS_INGEST_RATE_LIMIT_EVENTS_PER_SECOND", "5"),
            ("HOME", "/x"),
        ]);
        let c = Config::load(Some(&file), &e, &Overrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.server.listen, "127.0.0.1:2");
        assert_eq!(c.ingest.max_batch_events, 10);
        assert_eq!(c.ingest.rate_limit_events_per_second, 5);
        let flags = Overrides {
            listen: Some("127.0.0.1:3".into()),
            data_dir: None,
        };
        assert_eq!(
            Config::load(Some(&file), &e, &flags).unwrap().server.listen,
            "127.0.0.1:3"
        );
    }

    #[test]
    fn a_file_s_typos_and_bad_values_are_errors_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            format!(
                "{:#}",
                Config::load(Some(&file), &[], &Overrides::default()).unwrap_err()
            )
        };
        let err = load("[server]\nlisten = \"0.0.0.0:1\"\n[ingest]\nmax_event_bytes = \"big\"\n");
        assert!(err.contains("p.toml") && err.contains("line 4"), "{err}");
        assert!(err.contains("expected usize"), "{err}");
        let err = load("[server]\nlisen = \"0.0.0.0:1\"\n");
        assert!(
            err.contains("line 2") && err.contains("unknown field `lisen`"),
            "{err}"
        );
        let err = load("[stor]\nreaders = 2\n");
        assert!(
            err.contains("line 1") && err.contains("unknown field `stor`"),
            "{err}"
        );
    }

    #[test]
    fn typos_and_bad_values_are_errors_naming_the_key() {
        let err = Config::load(
            None,
            &env(&[("PARCOURS_SERVER_LISTN", "x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("PARCOURS_SERVER_LISTN"),
            "{err:#}"
        );
        let err = Config::load(
            None,
            &env(&[("PARCOURS_INGEST_MAX_BATCH_EVENTS", "many")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("not an integer"), "{err:#}");
        let err = Config::load(
            None,
            &env(&[("PARCOURS_LOG_FORMAT", "xml")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("log.format"), "{err:#}");
        let err = Config::load(
            None,
            &env(&[("PARCOURS_STORE_QUEUE_CAPACITY", "100")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("store.queue_capacity (100) must be at least"),
            "{err:#}"
        );
        let err = Config::load(
            None,
            &env(&[("PARCOURS_STORE_SYNCHRONOUS", "sometimes")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid configuration"),
            "{err:#}"
        );
    }
}
