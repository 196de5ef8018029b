//! The fuzz targets (`herald::fuzzing`) on every test run: their committed inputs, the
//! seed corpus (`fuzz/seeds/<target>`) and every input a fuzzer ever crashed on
//! (`fuzz/regressions/<target>`), so that a fixed crash stays fixed; then each target for a
//! bounded time on random mutations of its seeds. That run is blind where `cargo fuzz` is
//! guided by coverage (`fuzz/run.sh`, nightly Rust and an instrumented build, too costly
//! for every CI run), but it needs neither and still finds what a flipped length, a cut
//! frame or a spliced schema breaks.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

#[test]
fn every_seed_and_past_crash_is_handled() {
    let root = fuzz_dir();
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

/// xorshift64*: reproducible from the seed the test prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that sit on the edges parsers get wrong: lengths of zero, minus one, the signed
/// and unsigned limits, as Kafka's big-endian fields hold them.
const EDGES: [&[u8]; 10] = [
    &[0],
    &[0xff],
    &[0x7f],
    &[0x80],
    &[0xff, 0xff],
    &[0x7f, 0xff],
    &[0x80, 0x00],
    &[0xff, 0xff, 0xff, 0xff],
    &[0x7f, 0xff, 0xff, 0xff],
    &[0x80, 0x00, 0x00, 0x00],
];

/// One to eight random edits of a seed: bit flips, edge values written over bytes, bytes
/// inserted, removed or repeated, the input cut short, or a piece of another seed spliced in.
fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut input = seeds[rng.below(seeds.len())].1.clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(input.len() + 1);
        match rng.below(7) {
            0 if !input.is_empty() => {
                let at = at.min(input.len() - 1);
                input[at] ^= 1 << rng.below(8);
            }
            1 => {
                let edge = EDGES[rng.below(EDGES.len())];
                for (i, byte) in edge.iter().enumerate() {
                    match input.get_mut(at + i) {
                        Some(slot) => *slot = *byte,
                        None => input.push(*byte),
                    }
                }
            }
            2 => {
                let count = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..count).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            3 => {
                let end = (at + 1 + rng.below(32)).min(input.len());
                input.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(input.len());
                let piece = input[at.min(end)..end].to_vec();
                input.splice(
                    at..at,
                    piece.iter().copied().cycle().take(piece.len() * (1 + rng.below(4))),
                );
            }
            5 => input.truncate(at),
            _ => {
                let other = &seeds[rng.below(seeds.len())].1;
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                input.splice(at..at, other[from..end].iter().copied());
            }
        }
    }
    input
}

/// Each target on mutations of its seeds for `HERALD_FUZZ_SECONDS` (default 2) seconds,
/// from a fixed seed unless `HERALD_FUZZ_SEED` says otherwise.
/// A failure writes the input under `target/fuzz-failures/` and names it, with the seed that
/// reproduces the run.
#[test]
fn every_target_survives_mutations_of_its_seeds_for_a_bounded_time() {
    let seconds: u64 = std::env::var("HERALD_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    // A fixed seed by default, so that a run fails or passes the same way every time;
    // `HERALD_FUZZ_SEED=random` explores, a number repeats a run.
    let seed = match std::env::var("HERALD_FUZZ_SEED").ok().as_deref() {
        Some("random") => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        }
        Some(number) => number.parse().expect("HERALD_FUZZ_SEED is a number or random"),
        None => 0x5eed_0f4e_2a1d,
    };
    println!("mutating seeds for {seconds}s per target; HERALD_FUZZ_SEED={seed} repeats this run");
    let root = fuzz_dir();
    for (target, run) in herald::fuzzing::TARGETS {
        let seeds = inputs(&root.join("seeds").join(target));
        assert!(!seeds.is_empty(), "fuzz/seeds/{target} is empty");
        let mut rng = Rng(seed);
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut runs = 0u64;
        while Instant::now() < deadline {
            let input = mutate(&mut rng, &seeds);
            if std::panic::catch_unwind(|| run(&input)).is_err() {
                let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
                std::fs::create_dir_all(&dir).unwrap();
                let path = dir.join(format!("{target}-{seed}-{runs}"));
                std::fs::write(&path, &input).unwrap();
                panic!(
                    "fuzz target {target} panicked on a mutated seed, kept in {} \
                     (HERALD_FUZZ_SEED={seed}); once fixed, copy it to fuzz/regressions/{target}/",
                    path.display()
                );
            }
            runs += 1;
        }
        println!("{target}: {runs} inputs");
        assert!(runs > 0, "{target} ran no input in {seconds}s");
    }
}
