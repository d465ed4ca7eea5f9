//! Serving blocked clients after a connection's command made keys ready; the serving itself
//! lives in `crate::exec::blocked`, shared with the standby's applier.

pub(crate) use crate::exec::blocked::serve_ready;
