//! `reflex mrt`: summaries and JSON dumps of MRT files.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde::Serialize;
use speaker::mrt::{MrtError, MrtReader, SummaryBuilder};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum MrtCommand {
    /// Count what a file holds: records by type, peers, prefixes, messages.
    Summary {
        /// An MRT file, plain, gzip or bzip2.
        file: PathBuf,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print one JSON object per record (one line each), streaming.
    Dump {
        /// An MRT file, plain, gzip or bzip2.
        file: PathBuf,
    },
}

pub fn run(cmd: MrtCommand) -> Result<()> {
    match cmd {
        MrtCommand::Summary { file, json } => summary(&file, json),
        MrtCommand::Dump { file } => quiet_broken_pipe(dump(&file)),
    }
}

fn open(file: &Path) -> Result<MrtReader<'static>> {
    MrtReader::open(file).with_context(|| format!("cannot open {}", file.display()))
}

/// Prints the summary; a stream that ended early is reported in it and on
/// stderr, and makes the exit status non-zero.
fn summary(file: &Path, json: bool) -> Result<()> {
    let s = SummaryBuilder::from_records(open(file)?);
    let mut out = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &s)?;
        writeln!(out)?;
    } else {
        let lines = s.lines();
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &lines {
            writeln!(out, "{k:<width$}  {v}")?;
        }
    }
    out.flush()?;
    if let Some(e) = &s.fatal_error {
        bail!("{}: {e}", file.display());
    }
    Ok(())
}

/// A record that did not decode, as a JSON line.
#[derive(Serialize)]
struct ErrorLine<'a> {
    offset: Option<u64>,
    #[serde(rename = "type")]
    mrt_type: Option<u16>,
    subtype: Option<u16>,
    error: &'a str,
}

fn dump(file: &Path) -> Result<()> {
    let reader = open(file)?;
    let mut out = BufWriter::new(io::stdout().lock());
    let mut bad_records = 0u64;
    let mut fatal = None;
    for r in reader {
        match r {
            Ok(rec) => serde_json::to_writer(&mut out, &rec)?,
            Err(e) => {
                let msg = e.to_string();
                let (offset, mrt_type, subtype) = match &e {
                    MrtError::Body { offset, header, .. } => {
                        (Some(*offset), Some(header.mrt_type), Some(header.subtype))
                    }
                    MrtError::Truncated { offset, .. }
                    | MrtError::RecordTooLong { offset, .. }
                    | MrtError::Io { offset, .. } => (Some(*offset), None, None),
                };
                serde_json::to_writer(
                    &mut out,
                    &ErrorLine {
                        offset,
                        mrt_type,
                        subtype,
                        error: &msg,
                    },
                )?;
                if e.is_fatal() {
                    fatal = Some(msg);
                } else {
                    bad_records += 1;
                }
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    match (fatal, bad_records) {
        (Some(e), _) => bail!("{}: {e}", file.display()),
        (None, 0) => Ok(()),
        (None, n) => bail!("{}: {n} records did not decode", file.display()),
    }
}

/// A closed stdout (`reflex mrt dump f | head`) is not an error.
fn quiet_broken_pipe(r: Result<()>) -> Result<()> {
    match r {
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        Err(e)
            if e.downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        r => r,
    }
}
