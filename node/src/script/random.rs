//! Redis's `math.random` and `math.randomseed`: Lua's own versions over Redis's portable
//! `rand48` (`rand.c`), so every platform draws the same sequence for the same seed. The
//! generator lives with the Lua state and is not reseeded between scripts, as in Redis 7.

use mlua::{Lua, MultiValue, Table};

use super::bit::check_number;
use super::error::{arg_error, string_error};
use super::redis_api::RunState;

/// `rand48`'s multiplier, increment and modulus.
const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// `REDIS_LRAND48_MAX`.
const LRAND48_MAX: u64 = i32::MAX as u64;

/// The generator state, kept in the Lua state's app data.
#[derive(Debug)]
pub(super) struct Rand48(u64);

impl Default for Rand48 {
    /// `rand.c`'s initial state, used until a script calls `math.randomseed`.
    fn default() -> Rand48 {
        Rand48(0x1234_ABCD_330E)
    }
}

impl Rand48 {
    fn seed(&mut self, seed: i32) {
        self.0 = ((u64::from(seed as u32)) << 16) | 0x330E;
    }

    fn next(&mut self) -> u64 {
        self.0 = (A.wrapping_mul(self.0).wrapping_add(C)) & MASK;
        self.0 >> 17
    }
}

/// Replaces `random` and `randomseed` in the `math` table.
pub(super) fn install(lua: &Lua, math: &Table) -> mlua::Result<()> {
    lua.set_app_data(Rand48::default());
    math.raw_set("random", lua.create_function(random)?)?;
    math.raw_set("randomseed", lua.create_function(randomseed)?)?;
    Ok(())
}

fn in_script(lua: &Lua, name: &str) -> mlua::Result<()> {
    if lua.app_data_ref::<RunState>().is_some_and(|s| s.running) {
        Ok(())
    } else {
        Err(string_error(
            lua,
            format!("{name} can only be called inside a script invocation"),
        ))
    }
}

fn random(lua: &Lua, args: MultiValue) -> mlua::Result<f64> {
    in_script(lua, "math.random")?;
    let draw = lua
        .app_data_mut::<Rand48>()
        .map_or(0, |mut rand| rand.next());
    let r = (draw % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    match args.len() {
        0 => Ok(r),
        1 => {
            let upper = check_number(lua, &args, 0)? as i32;
            if upper < 1 {
                return Err(arg_error(lua, 1, "interval is empty"));
            }
            Ok((r * f64::from(upper)).floor() + 1.0)
        }
        2 => {
            let lower = check_number(lua, &args, 0)? as i32;
            let upper = check_number(lua, &args, 1)? as i32;
            if lower > upper {
                return Err(arg_error(lua, 2, "interval is empty"));
            }
            Ok((r * (f64::from(upper) - f64::from(lower) + 1.0)).floor() + f64::from(lower))
        }
        _ => Err(string_error(lua, "wrong number of arguments")),
    }
}

fn randomseed(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    in_script(lua, "math.randomseed")?;
    let seed = check_number(lua, &args, 0)? as i32;
    if let Some(mut rand) = lua.app_data_mut::<Rand48>() {
        rand.seed(seed);
    }
    Ok(())
}
