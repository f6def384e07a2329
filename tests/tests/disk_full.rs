//! Issue 19 §3, at run time: a member whose disk fills up while it runs
//! (its data directory on a 12 MiB tmpfs, a full table replayed into it)
//! cannot write its Raft log. It must not carry on as a zombie (before the
//! fix it did, for good: the drop of the failed store hung its runtime):
//! it closes its sessions as a restart of ours, tries to record why (the
//! full disk refuses, and it says so), and exits non-zero within seconds (the store's last flush is waited for
//! 5 s at most: after the error sled never ends it), with the reason in
//! its log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reflex_tests::bird::Bird;
use reflex_tests::netns::{Lan, Node, wait_for};
use reflex_tests::replay::{Routes, Sender, Source, Table, full_ipv4_table};
use reflex_tests::tmpfs::Tmpfs;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const AS: u32 = 65000;

fn config(rr: &Node, data: &Path, src: &Node, bird: &Node) -> String {
    format!(
        "router-id = \"{rr}\"\nlocal-as = {AS}\ndata-dir = \"{data}\"\n[listen]\naddresses = [\"{rr}\"]\n\
         [timers]\nconnect-retry = 1\nidle-hold = 1\n\
         [group.clients]\nremote-as = {AS}\nroute-reflector-client = true\n\
         [[neighbor]]\naddress = \"{src}\"\ngroup = \"clients\"\npassive = true\n\
         [[neighbor]]\naddress = \"{bird}\"\ngroup = \"clients\"\n",
        rr = rr.v4,
        src = src.v4,
        bird = bird.v4,
        data = data.display(),
    )
}

fn bird_config(me: &Node, rr: &Node) -> String {
    format!(
        "router id {me};\nlog stderr all;\ndebug protocols {{ states, events }};\nprotocol device {{}}\n\
         protocol bgp reflector {{\n  local {me} as {AS};\n  neighbor {rr} as {AS};\n  \
         hold time 30;\n  connect retry time 2;\n  error wait time 1, 5;\n  direct;\n  \
         graceful restart on;\n  ipv4 {{ import all; export none; }};\n}}\n",
        me = me.v4,
        rr = rr.v4,
    )
}

#[test]
fn a_member_whose_disk_fills_closes_its_sessions_and_exits_non_zero() {
    assert!(
        reflex_tests::netns::available(),
        "tests need root and iproute2 (ip netns)"
    );
    let routes = Routes::from_rib(&full_ipv4_table()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut lan = Lan::new().unwrap();
    let rr = lan.node(1).unwrap();
    let src = lan.node(2).unwrap();
    let nb = lan.node(3).unwrap();
    let data = dir.path().join("data");
    let _disk = Tmpfs::mount(&data, "12m").unwrap();
    let logs = dir.path().join("reflex");
    std::fs::create_dir_all(&logs).unwrap();
    let mut reflex =
        reflex_tests::reflex::start(&rr, &logs, &config(&rr, &data, &src, &nb)).unwrap();
    let bird = Bird::start_text(&nb, dir.path(), &bird_config(&nb, &rr)).unwrap();
    wait_for(30, || {
        bird.birdc("show protocols reflector")
            .ok()
            .filter(|s| s.contains("Established"))
    })
    .expect("BIRD never reached Established");
    let sender = Sender::internal(&src, AS);
    let table = Arc::new(Table::encode(&routes, &sender));
    drop(routes);
    let started = Instant::now();
    let _source = Source::start(&src.ns, rr.v4, sender, table);
    // The log outgrows the disk: the member exits, non-zero.
    let exited = wait_for(120, || reflex.exited());
    let took = started.elapsed();
    let log = reflex_tests::reflex::log(&logs);
    let _ = std::fs::write(std::env::temp_dir().join("disk_full-reflex.log"), &log);
    let status = exited.unwrap_or_else(|| {
        panic!(
            "still running with a full disk after 120 s ({})\n{}",
            String::from_utf8_lossy(
                &Command::new("du")
                    .arg("-sh")
                    .arg(&data)
                    .output()
                    .unwrap()
                    .stdout
            ),
            reflex_tests::reflex::log_tail(&logs)
        )
    });
    eprintln!("disk full: exited {status} {took:?} after the replay started");
    assert!(!status.success(), "exit status {status}");
    assert!(
        log.contains("the replicated RIB stopped for good"),
        "the reason is logged:\n{}",
        reflex_tests::reflex::log_tail(&logs)
    );
    assert!(
        log.contains("sessions closed as a graceful restart"),
        "sessions closed before the exit:\n{}",
        reflex_tests::reflex::log_tail(&logs)
    );
    // The disk is full: the record of the exit (fatal-exits) cannot be
    // written, and the member says so.
    assert!(
        log.contains("cannot record the fatal exit"),
        "{}",
        reflex_tests::reflex::log_tail(&logs)
    );
}
