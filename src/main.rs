/// mimalloc rather than the system allocator: parsing and comparing schemas allocates many
/// small objects, and glibc's malloc showed up as a third of the profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    herald::cli::run()
}
