//! `reflex ctl ...`: a running node through its HTTP API, as aligned
//! tables (like `birdc show protocols`) or, with `--json`, the API's own
//! JSON for scripts.
//!
//! Exit codes: 0 done; 1 the answer could not be read; 3 the API cannot
//! be reached; 4 the API refused the request (its error is printed).

use clap::{Args, Subcommand};
use serde_json::Value;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct Ctl {
    /// The node's API address (its `[api] address`).
    #[arg(long, default_value = "127.0.0.1:8179", global = true)]
    api: SocketAddr,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// A file holding the API's bearer token (its `[api] token`, or its
    /// `read-token` for reads only); `REFLEX_API_TOKEN` else. Never on the
    /// command line, where every user of the host can read it.
    #[arg(long, value_name = "FILE", global = true)]
    token_file: Option<std::path::PathBuf>,
    /// Speak HTTPS to the API, trusting this CA (PEM): its `[api]
    /// certificate` must name the address given with `--api`.
    #[arg(long, env = "REFLEX_API_CA", value_name = "FILE", global = true)]
    ca: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand, Debug)]
enum CtlCommand {
    /// Every neighbour: state, UPDATEs and prefixes received.
    Neighbors,
    /// One neighbour, by address.
    Neighbor { address: String },
    /// Close a session with Cease / Administrative Reset and start it again.
    /// Where the neighbour negotiated the N bit (RFC 8538) both sides keep
    /// the other's routes, stale, meanwhile.
    Reset {
        address: String,
        /// A Hard Reset (RFC 8538 §3): neither side keeps the other's routes.
        #[arg(long)]
        hard: bool,
    },
    /// Inbound soft reset: the neighbour's routes again (ROUTE-REFRESH, or
    /// those kept as received).
    Refresh { address: String },
    /// Close a session with Cease / Administrative Shutdown and keep it
    /// down until `enable`.
    Shutdown {
        address: String,
        /// The RFC 9003 message the neighbour is sent (255 octets at most).
        #[arg(long)]
        message: Option<String>,
    },
    /// Start a session shut down with `shutdown`.
    Enable { address: String },
    /// Move a neighbour's session to another member of the cluster.
    Move {
        address: String,
        /// The member's id (`reflex ctl cluster` lists the voters).
        #[arg(long)]
        to: u64,
    },
    /// Move a member's sessions to the others (make-before-break: each
    /// neighbour is sent its table by the new member before the old
    /// session closes) and give it none until `undrain`; replicated, so it
    /// holds through restarts.
    Drain {
        /// The member's id; the member asked, if not given.
        #[arg(long)]
        member: Option<u64>,
    },
    /// Let a drained member take sessions again.
    Undrain {
        #[arg(long)]
        member: Option<u64>,
    },
    /// Read the configuration file again and apply it: neighbours added,
    /// removed or changed, and the routing policy.
    Reload,
    /// Loc-RIB destinations: every path, the best marked `*`, and the
    /// decision step that chose it.
    Rib(RibArgs),
    /// The reflector cluster as the node knows it.
    Cluster,
    /// The Loc-RIB as an MRT TABLE_DUMP_V2 file (`reflex mrt summary`
    /// reads it).
    Dump { output: std::path::PathBuf },
}

#[derive(Args, Debug)]
struct RibArgs {
    /// Exactly this prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// The most specific destination covering this address.
    #[arg(long)]
    longest: Option<String>,
    /// Destinations with a path from this neighbour.
    #[arg(long)]
    neighbor: Option<String>,
    /// Destinations with a path carrying this community.
    #[arg(long)]
    community: Option<String>,
    /// Destinations with a path whose AS_PATH matches (FRR's dialect).
    #[arg(long)]
    as_path: Option<String>,
    /// Destinations a page (1 to 1000).
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Start after this prefix (the `next` of the previous page).
    #[arg(long)]
    after: Option<String>,
}

impl RibArgs {
    fn query(&self) -> String {
        let mut q = vec![format!("limit={}", self.limit)];
        for (k, v) in [
            ("prefix", &self.prefix),
            ("longest", &self.longest),
            ("neighbor", &self.neighbor),
            ("community", &self.community),
            ("as_path", &self.as_path),
            ("after", &self.after),
        ] {
            if let Some(v) = v {
                q.push(format!("{k}={}", percent_encode(v)));
            }
        }
        format!("/api/v1/rib?{}", q.join("&"))
    }
}

/// A query value with every octet but unreserved ones (RFC 3986 §2.3)
/// percent-encoded.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What went wrong, and its exit code.
enum Failure {
    Unreachable(String),
    Refused(String),
    Unreadable(String),
}

pub fn run(cmd: Ctl) -> ExitCode {
    let action = |address: &str, action: &str| format!("/api/v1/neighbors/{address}/{action}");
    let (method, path, body) = match &cmd.command {
        CtlCommand::Neighbors => ("GET", "/api/v1/neighbors".to_string(), None),
        CtlCommand::Neighbor { address } => ("GET", format!("/api/v1/neighbors/{address}"), None),
        CtlCommand::Reset { address, hard } => (
            "POST",
            action(address, "reset"),
            hard.then(|| serde_json::json!({ "hard": true }).to_string()),
        ),
        CtlCommand::Refresh { address } => ("POST", action(address, "refresh"), None),
        CtlCommand::Enable { address } => ("POST", action(address, "enable"), None),
        CtlCommand::Move { address, to } => (
            "POST",
            action(address, "move"),
            Some(serde_json::json!({ "member": to }).to_string()),
        ),
        CtlCommand::Drain { member } => (
            "POST",
            "/api/v1/cluster/drain".to_string(),
            member.map(|m| serde_json::json!({ "member": m }).to_string()),
        ),
        CtlCommand::Undrain { member } => (
            "POST",
            "/api/v1/cluster/undrain".to_string(),
            member.map(|m| serde_json::json!({ "member": m }).to_string()),
        ),
        CtlCommand::Reload => ("POST", "/api/v1/reload".to_string(), None),
        CtlCommand::Rib(args) => ("GET", args.query(), None),
        CtlCommand::Cluster => ("GET", "/api/v1/cluster".to_string(), None),
        CtlCommand::Dump { .. } => ("GET", "/api/v1/rib/mrt".to_string(), None),
        CtlCommand::Shutdown { address, message } => (
            "POST",
            action(address, "shutdown"),
            message
                .as_ref()
                .map(|m| serde_json::json!({ "message": m }).to_string()),
        ),
    };
    let token = match token(cmd.token_file.as_deref()) {
        Ok(t) => t,
        Err(f) => return fail(cmd.api, f),
    };
    let token = token.as_deref();
    if let CtlCommand::Dump { output } = &cmd.command {
        return match request(&cmd, "GET", "/api/v1/rib/mrt", token, None).and_then(|octets| {
            std::fs::write(output, &octets)
                .map(|()| octets.len())
                .map_err(|e| Failure::Unreadable(format!("{}: {e}", output.display())))
        }) {
            Ok(n) => {
                println!("{n} octets written to {}", output.display());
                ExitCode::SUCCESS
            }
            Err(f) => fail(cmd.api, f),
        };
    }
    let result = request(&cmd, method, &path, token, body.as_deref()).and_then(|body| {
        let body = String::from_utf8_lossy(&body).into_owned();
        if cmd.json {
            return Ok(body);
        }
        let v: Value =
            serde_json::from_str(&body).map_err(|e| Failure::Unreadable(e.to_string()))?;
        if v.get("not_applied").is_some() {
            return Ok(reload_report(&v));
        }
        if let Some(done) = v.get("done").and_then(Value::as_str) {
            return Ok(format!("{}: {done}", text(&v["neighbor"])));
        }
        if let Some(routes) = v.get("routes").and_then(Value::as_array) {
            return Ok(rib_table(routes, &v["next"]));
        }
        if let Some(map) = v.as_object().filter(|_| v.get("rib_digest").is_some()) {
            return Ok(map
                .iter()
                .map(|(k, x)| format!("{k:<17} {}\n", text(x)))
                .collect());
        }
        let rows: Vec<&Value> = match &v {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        Ok(neighbor_table(&rows))
    });
    match result {
        Ok(out) => {
            println!("{}", out.trim_end());
            ExitCode::SUCCESS
        }
        Err(f) => fail(cmd.api, f),
    }
}

/// Prints what went wrong; its exit code.
fn fail(api: SocketAddr, f: Failure) -> ExitCode {
    match f {
        Failure::Unreachable(e) => {
            eprintln!("reflex ctl: cannot reach the API at {api}: {e}");
            ExitCode::from(3)
        }
        Failure::Refused(e) => {
            eprintln!("reflex ctl: {e}");
            ExitCode::from(4)
        }
        Failure::Unreadable(e) => {
            eprintln!("reflex ctl: unreadable answer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What a reload did, a line per kind of change.
fn reload_report(v: &Value) -> String {
    let list = |k: &str| {
        let items: Vec<String> = v[k].as_array().into_iter().flatten().map(text).collect();
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(" ")
        }
    };
    format!(
        "added        {}\nremoved      {}\nchanged      {}\npolicy       {}\nnot applied  {}\n",
        list("added"),
        list("removed"),
        list("changed"),
        if v["policy_changed"] == true {
            "changed"
        } else {
            "unchanged"
        },
        list("not_applied"),
    )
}

/// A JSON value as a table cell.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A page of the Loc-RIB: a line per path, the best marked `*`, and how
/// to ask for the next page.
fn rib_table(routes: &[Value], next: &Value) -> String {
    let mut rows = vec![
        [
            "",
            "PREFIX",
            "NEXT HOP",
            "NEIGHBOR",
            "LOCPRF",
            "MED",
            "AS PATH",
            "DECIDED BY",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for r in routes {
        for p in r["paths"].as_array().into_iter().flatten() {
            let best = p["best"] == true;
            rows.push(vec![
                if best { "*".into() } else { " ".into() },
                text(&r["prefix"]),
                text(&p["next_hop"]),
                text(&p["neighbor"]),
                text(&p["local_pref"]),
                text(&p["med"]),
                text(&p["as_path"]),
                if best {
                    text(&r["decided_by"])
                } else {
                    String::new()
                },
            ]);
        }
    }
    let mut out = aligned(&rows);
    if let Some(n) = next.as_str() {
        out.push_str(&format!("(more: --after {n})\n"));
    }
    out
}

/// The table of neighbours, columns aligned.
fn neighbor_table(rows: &[&Value]) -> String {
    let mut table = vec![vec![
        "NEIGHBOR".to_string(),
        "AS".into(),
        "STATE".into(),
        "UPDATES".into(),
        "PREFIXES".into(),
        "DENIED".into(),
        "LAST ERROR".into(),
    ]];
    for r in rows {
        table.push(
            [
                "address",
                "remote_as",
                "state",
                "updates_received",
                "prefixes_received",
                "prefixes_denied",
                "last_error",
            ]
            .iter()
            .map(|k| text(&r[*k]))
            .collect(),
        );
    }
    aligned(&table)
}

/// Rows as columns padded to their widest cell.
fn aligned(table: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in table {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The API token: the first line of `file`, else `REFLEX_API_TOKEN`.
fn token(file: Option<&std::path::Path>) -> Result<Option<String>, Failure> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Failure::Unreadable(format!("token file {}: {e}", f.display())))?;
        let t = text.lines().next().unwrap_or("").trim().to_string();
        if t.is_empty() {
            return Err(Failure::Unreadable(format!(
                "token file {}: empty",
                f.display()
            )));
        }
        return Ok(Some(t));
    }
    Ok(std::env::var("REFLEX_API_TOKEN")
        .ok()
        .filter(|t| !t.is_empty()))
}

/// `method path` (with the token and a JSON body, if any): the body of a
/// 2xx, else the API's error.
fn request(
    cmd: &Ctl,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<Vec<u8>, Failure> {
    let api = cmd.api;
    let mut config = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false);
    let scheme = match &cmd.ca {
        None => "http",
        Some(ca) => {
            let pem = std::fs::read(ca)
                .map_err(|e| Failure::Unreadable(format!("CA {}: {e}", ca.display())))?;
            let root = ureq::tls::Certificate::from_pem(&pem)
                .map_err(|e| Failure::Unreadable(format!("CA {}: {e}", ca.display())))?;
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::Rustls)
                    .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                        root,
                    ])))
                    .unversioned_rustls_crypto_provider(consensus::tls::crypto_provider())
                    .build(),
            );
            "https"
        }
    };
    let agent: ureq::Agent = config.build().into();
    let url = format!("{scheme}://{api}{path}");
    let unreachable = |e: ureq::Error| Failure::Unreachable(e.to_string());
    let response = match method {
        "POST" => {
            let mut r = agent
                .post(&url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(t) = token {
                r = r.header("Authorization", format!("Bearer {t}"));
            }
            r.send(body.unwrap_or("")).map_err(unreachable)?
        }
        _ => {
            let mut r = agent.get(&url).header("Accept", "application/json");
            if let Some(t) = token {
                r = r.header("Authorization", format!("Bearer {t}"));
            }
            r.call().map_err(unreachable)?
        }
    };
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .into_with_config()
        // An MRT dump of a full table is hundreds of MB.
        .limit(u64::MAX)
        .read_to_vec()
        .map_err(|e| Failure::Unreadable(e.to_string()))?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let raw = String::from_utf8_lossy(&body);
    let v = serde_json::from_str::<Value>(&raw).ok();
    let mut message = v
        .as_ref()
        .and_then(|v| v["error"].as_str().map(String::from))
        .unwrap_or_else(|| raw.trim().to_string());
    // A refused configuration: each problem on its own line.
    for p in v
        .iter()
        .flat_map(|v| v["problems"].as_array().into_iter().flatten())
    {
        message.push_str(&format!("\n  {}", text(p)));
    }
    Err(Failure::Refused(format!("{status}: {message}")))
}
