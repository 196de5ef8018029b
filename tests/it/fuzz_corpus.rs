//! The fuzz targets' committed inputs, replayed on every test run: the seed corpus
//! (`fuzz/seeds/<target>`) and every input a fuzzer ever crashed on
//! (`fuzz/regressions/<target>`), so that a fixed crash stays fixed without nightly Rust or
//! cargo-fuzz.

use std::path::Path;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut inputs: Vec<(String, Vec<u8>)> = entries
        .map(|entry| entry.expect("a readable directory").path())
        .filter(|path| path.is_file())
        .map(|path| {
            (
                path.display().to_string(),
                std::fs::read(&path).expect("a readable input"),
            )
        })
        .collect();
    inputs.sort();
    inputs
}

#[test]
fn every_seed_and_past_crash_is_handled() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, run) in herald::fuzzing::TARGETS {
        let seeds = inputs(&root.join("seeds").join(target));
        // A target without seeds would start from nothing: the corpus is part of the target.
        assert!(seeds.len() >= 3, "fuzz/seeds/{target} holds {} inputs", seeds.len());
        let regressions = inputs(&root.join("regressions").join(target));
        for (name, input) in seeds.iter().chain(&regressions) {
            if std::panic::catch_unwind(|| run(input)).is_err() {
                panic!("fuzz target {target} panicked on {name}");
            }
        }
    }
}
