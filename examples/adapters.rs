//! Lists the adapters wgpu sees and the one duel would choose:
//! `cargo run --example adapters`.

fn main() {
    let adapters = duel::gpu::list_adapters();
    if adapters.is_empty() {
        println!("no adapters found");
    }
    for adapter in &adapters {
        println!("seen:   {adapter}");
    }
    match duel::Gpu::new() {
        Ok(gpu) => println!("chosen: {}", gpu.adapter()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
