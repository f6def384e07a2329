//! `reflex ctl ...`: a running node through its HTTP API, as aligned
//! tables (like `birdc show protocols`) or, with `--json`, the API's own
//! JSON for scripts.
//!
//! Exit codes: 0 done; 1 the answer could not be read; 3 the API cannot
//! be reached; 4 the API refused the request (its error is printed).

use clap::{Args, Subcommand};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
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
    /// The API's bearer token, for actions (its `[api] token`).
    #[arg(long, env = "REFLEX_API_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
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
    Reset { address: String },
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
        CtlCommand::Reset { address } => ("POST", action(address, "reset"), None),
        CtlCommand::Refresh { address } => ("POST", action(address, "refresh"), None),
        CtlCommand::Enable { address } => ("POST", action(address, "enable"), None),
        CtlCommand::Shutdown { address, message } => (
            "POST",
            action(address, "shutdown"),
            message
                .as_ref()
                .map(|m| serde_json::json!({ "message": m }).to_string()),
        ),
    };
    let token = cmd.token.as_deref().filter(|_| method == "POST");
    let result = request(cmd.api, method, &path, token, body.as_deref()).and_then(|body| {
        if cmd.json {
            return Ok(body);
        }
        let v: Value =
            serde_json::from_str(&body).map_err(|e| Failure::Unreadable(e.to_string()))?;
        if let Some(done) = v.get("done").and_then(Value::as_str) {
            return Ok(format!("{}: {done}", text(&v["neighbor"])));
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
        Err(Failure::Unreachable(e)) => {
            eprintln!("reflex ctl: cannot reach the API at {}: {e}", cmd.api);
            ExitCode::from(3)
        }
        Err(Failure::Refused(e)) => {
            eprintln!("reflex ctl: {e}");
            ExitCode::from(4)
        }
        Err(Failure::Unreadable(e)) => {
            eprintln!("reflex ctl: unreadable answer: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A JSON value as a table cell.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
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
    let widths: Vec<usize> = (0..table[0].len())
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &table {
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

/// `method path` (with the token and a JSON body, if any): the body of a
/// 2xx, else the API's error.
fn request(
    api: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Result<String, Failure> {
    let unreachable = |e: std::io::Error| Failure::Unreachable(e.to_string());
    let mut s = TcpStream::connect_timeout(&api, Duration::from_secs(5)).map_err(unreachable)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(unreachable)?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if let Some(t) = token {
        request.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    s.write_all(request.as_bytes()).map_err(unreachable)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(unreachable)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| Failure::Unreadable("no HTTP header".into()))?;
    let status: u16 = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Failure::Unreadable("no HTTP status".into()))?;
    if (200..300).contains(&status) {
        return Ok(body.to_string());
    }
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(String::from))
        .unwrap_or_else(|| body.trim().to_string());
    Err(Failure::Refused(format!("{status}: {message}")))
}
