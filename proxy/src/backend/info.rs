//! The one reader of `INFO replication`: role, replication offset, link state, whom a standby
//! follows and the node's epoch. Probes, read routing and the failover controller all take
//! their view of a node from [`ReplicationInfo`].

/// The role a node reports in `INFO replication`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not probed successfully yet, or not reported.
    #[default]
    Unknown,
    /// `role:master`.
    Primary,
    /// `role:slave`.
    Standby,
}

/// What the proxy reads from `INFO replication`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReplicationInfo {
    /// `role` ([`Role::Unknown`] when the node does not say).
    pub(crate) role: Role,
    /// `master_repl_offset` or, on a standby, `slave_repl_offset`.
    pub(crate) offset: Option<u64>,
    /// `master_link_status:up`.
    pub(crate) link_up: bool,
    /// `master_host` and `master_port`.
    pub(crate) following: Option<(String, u16)>,
    /// `redoubt_epoch`.
    pub(crate) epoch: u64,
}

/// Parses the fields of `INFO replication` the proxy uses.
pub(crate) fn parse_replication_fields(text: &str) -> ReplicationInfo {
    let mut info = ReplicationInfo::default();
    let (mut master_offset, mut slave_offset, mut host, mut port) = (None, None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        match key {
            "role" if value == "master" => info.role = Role::Primary,
            "role" if value == "slave" => info.role = Role::Standby,
            "master_repl_offset" => master_offset = value.parse().ok(),
            "slave_repl_offset" => slave_offset = value.parse().ok(),
            "master_link_status" => info.link_up = value == "up",
            "master_host" => host = Some(value.to_string()),
            "master_port" => port = value.parse().ok(),
            "redoubt_epoch" => info.epoch = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    info.offset = if info.role == Role::Standby {
        slave_offset
    } else {
        master_offset
    };
    if let (Some(host), Some(port)) = (host, port) {
        info.following = Some((host, port));
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_replication() {
        let primary =
            "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nmaster_repl_offset:1234\r\n";
        let info = parse_replication_fields(primary);
        assert_eq!((info.role, info.offset), (Role::Primary, Some(1234)));
        assert_eq!(info.following, None);
        let standby = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7001\r\n\
                       master_link_status:up\r\nslave_repl_offset:1000\r\nmaster_repl_offset:1001\r\n\
                       redoubt_epoch:4\r\n";
        let info = parse_replication_fields(standby);
        assert_eq!(
            info,
            ReplicationInfo {
                role: Role::Standby,
                offset: Some(1000),
                link_up: true,
                following: Some(("127.0.0.1".to_string(), 7001)),
                epoch: 4,
            }
        );
    }
}
