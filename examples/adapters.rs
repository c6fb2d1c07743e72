//! Lists the adapters wgpu sees and the one duel would choose:
//! `cargo run --example adapters`.

fn main() {
    duel::cli::init();
    duel::cli::exit_on_error(run());
}

fn run() -> duel::Result<()> {
    let adapters = duel::gpu::list_adapters()?;
    if adapters.is_empty() {
        println!("no adapters found");
    }
    for adapter in &adapters {
        println!("seen:   {adapter}");
    }
    println!("chosen: {}", duel::Gpu::new()?.adapter());
    Ok(())
}
