//! The coordinator with short timeouts: rebalances, sessions, the member-id round trip,
//! commits checked by generation, and offsets shared with the REST groups.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::consumer_protocol::{assigned_partitions, subscribed_topics};
use super::*;
use crate::broker::groups::{MemberConfig, Partitions, Reset};

static NEXT: AtomicU64 = AtomicU64::new(0);

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "herald-coordinator-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Short timeouts. The initial delay is what lets the joins a test starts together land in
/// one generation, so it leaves room for a busy machine.
fn config() -> CoordinatorConfig {
    CoordinatorConfig {
        initial_rebalance_delay: Duration::from_millis(250),
        min_session_timeout: Duration::from_millis(10),
        max_session_timeout: Duration::from_secs(60),
    }
}

fn open(dir: &std::path::Path) -> (Coordinator, Arc<Groups>) {
    let groups = Arc::new(Groups::open(dir).unwrap());
    (Coordinator::new(groups.clone(), config()), groups)
}

fn request(group: &str, client: &str) -> JoinRequest {
    JoinRequest {
        group: group.to_string(),
        member_id: String::new(),
        group_instance_id: None,
        client_id: client.to_string(),
        client_host: "/127.0.0.1".to_string(),
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), format!("meta-{client}").into_bytes())],
        session_timeout: Duration::from_secs(10),
        rebalance_timeout: Duration::from_secs(2),
        require_known_member_id: false,
    }
}

fn rejoin(group: &str, client: &str, member_id: &str) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        ..request(group, client)
    }
}

/// Joins all `requests` at once; answers in the same order.
async fn join_all(c: &Coordinator, requests: Vec<JoinRequest>) -> Vec<Joined> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let c = c.clone();
            tokio::spawn(async move { c.join(req).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap().expect("joined"));
    }
    out
}

/// Syncs every member of a generation, the leader assigning each member its own id as
/// bytes; answers what each member received, in the order of `joined`.
async fn sync_all(c: &Coordinator, group: &str, joined: &[Joined]) -> Vec<Vec<u8>> {
    let tasks: Vec<_> = joined
        .iter()
        .map(|j| {
            let c = c.clone();
            let group = group.to_string();
            let j = j.clone();
            let assignments: Vec<(String, Vec<u8>)> = j
                .members
                .iter()
                .map(|(id, _, _)| (id.clone(), id.clone().into_bytes()))
                .collect();
            tokio::spawn(async move { c.sync(&group, j.generation, &j.member_id, assignments).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap().expect("synced"));
    }
    out
}

/// A Stable group of `n` members; answers their joins.
async fn stable_group(c: &Coordinator, group: &str, n: usize) -> Vec<Joined> {
    let joined = join_all(c, (0..n).map(|i| request(group, &format!("client-{i}"))).collect()).await;
    sync_all(c, group, &joined).await;
    assert_eq!(c.describe(group).state, "Stable");
    joined
}

#[tokio::test]
async fn three_members_join_one_generation_and_followers_get_the_leaders_assignments() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let joined = join_all(&c, vec![request("g", "a"), request("g", "b"), request("g", "c")]).await;

    assert!(joined.iter().all(|j| j.generation == 1), "one generation: {joined:?}");
    let leader = &joined[0].leader;
    assert!(joined.iter().all(|j| &j.leader == leader), "one leader");
    let leaders: Vec<&Joined> = joined.iter().filter(|j| &j.member_id == leader).collect();
    assert_eq!(leaders.len(), 1);
    // The leader sees every member with its metadata; followers see no one.
    let mut seen: Vec<(String, Vec<u8>)> = leaders[0]
        .members
        .iter()
        .map(|(id, _, meta)| (id.clone(), meta.clone()))
        .collect();
    seen.sort();
    let mut expected: Vec<(String, Vec<u8>)> = joined
        .iter()
        .map(|j| {
            let client = j.member_id.split('-').next().unwrap().to_string();
            (j.member_id.clone(), format!("meta-{client}").into_bytes())
        })
        .collect();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(joined
        .iter()
        .filter(|j| &j.member_id != leader)
        .all(|j| j.members.is_empty()));
    assert!(joined
        .iter()
        .all(|j| j.protocol_name == "range" && j.protocol_type == "consumer"));
    for j in &joined {
        let client = j.member_id.split('-').next().unwrap();
        assert!(
            j.member_id.len() > client.len() + 30,
            "client id and a unique suffix: {}",
            j.member_id
        );
    }

    // Followers wait for the leader's assignments.
    let followers: Vec<Joined> = joined.iter().filter(|j| &j.member_id != leader).cloned().collect();
    let waiting: Vec<_> = followers
        .iter()
        .map(|f| {
            let c = c.clone();
            let f = f.clone();
            tokio::spawn(async move { c.sync("g", 1, &f.member_id, Vec::new()).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "followers wait for the leader"
    );
    assert_eq!(c.describe("g").state, "CompletingRebalance");
    let assignments: Vec<(String, Vec<u8>)> = joined
        .iter()
        .map(|j| (j.member_id.clone(), format!("for {}", j.member_id).into_bytes()))
        .collect();
    let own = c.sync("g", 1, leader, assignments).await.unwrap();
    assert_eq!(own, format!("for {leader}").into_bytes());
    for (follower, task) in followers.iter().zip(waiting) {
        assert_eq!(
            task.await.unwrap().unwrap(),
            format!("for {}", follower.member_id).into_bytes()
        );
    }

    let description = c.describe("g");
    assert_eq!(description.state, "Stable");
    assert_eq!(description.protocol_type, "consumer");
    assert_eq!(description.protocol_name, "range");
    assert_eq!(description.members.len(), 3);
    for m in &description.members {
        assert_eq!(m.assignment, format!("for {}", m.member_id).into_bytes());
        assert_eq!(m.client_host, "/127.0.0.1");
    }
    // A sync of the Stable generation answers the member's assignment again.
    assert_eq!(
        c.sync("g", 1, &followers[0].member_id, Vec::new()).await.unwrap(),
        format!("for {}", followers[0].member_id).into_bytes()
    );
    assert_eq!(
        c.sync("g", 0, &followers[0].member_id, Vec::new()).await,
        Err(CoordinatorError::IllegalGeneration)
    );
    assert_eq!(
        c.sync("g", 1, "stranger", Vec::new()).await,
        Err(CoordinatorError::UnknownMemberId)
    );
    assert_eq!(
        c.list(),
        vec![("g".to_string(), "consumer".to_string(), "Stable".to_string())]
    );
}

#[tokio::test]
async fn a_fourth_member_makes_the_others_rejoin_into_a_new_generation() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let first = stable_group(&c, "g", 3).await;
    for j in &first {
        assert_eq!(c.heartbeat("g", 1, &j.member_id), Ok(()));
    }

    let fourth = {
        let c = c.clone();
        tokio::spawn(async move { c.join(request("g", "d")).await })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(!fourth.is_finished(), "the new member waits for the others to rejoin");
    assert_eq!(c.describe("g").state, "PreparingRebalance");
    for j in &first {
        assert_eq!(
            c.heartbeat("g", 1, &j.member_id),
            Err(CoordinatorError::RebalanceInProgress),
            "heartbeats tell members to rejoin"
        );
    }
    let rejoined = join_all(&c, first.iter().map(|j| rejoin("g", "x", &j.member_id)).collect()).await;
    let fourth = fourth.await.unwrap().unwrap();
    assert!(rejoined.iter().all(|j| j.generation == 2));
    assert_eq!(fourth.generation, 2);
    let leader: Vec<&Joined> = rejoined
        .iter()
        .chain([&fourth])
        .filter(|j| j.member_id == j.leader)
        .collect();
    assert_eq!(leader.len(), 1);
    assert_eq!(leader[0].members.len(), 4);
    assert_eq!(leader[0].member_id, first[0].leader, "the leader stays the leader");
    // The old generation is gone.
    assert_eq!(
        c.heartbeat("g", 1, &fourth.member_id),
        Err(CoordinatorError::IllegalGeneration)
    );
    assert_eq!(
        c.heartbeat("g", 2, &fourth.member_id),
        Ok(()),
        "CompletingRebalance takes heartbeats"
    );
}

#[tokio::test]
async fn a_member_that_stops_heartbeating_is_removed_and_the_others_rebalance() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut quiet = request("g", "quiet");
    quiet.session_timeout = Duration::from_millis(150);
    let joined = join_all(&c, vec![request("g", "busy"), quiet]).await;
    sync_all(&c, "g", &joined).await;
    let (busy, quiet) = (&joined[0], &joined[1]);

    // Only `busy` heartbeats; `quiet` expires and a rebalance starts.
    let mut answer = Ok(());
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        answer = c.heartbeat("g", 1, &busy.member_id);
        if answer.is_err() {
            break;
        }
    }
    assert_eq!(answer, Err(CoordinatorError::RebalanceInProgress));
    assert_eq!(
        c.heartbeat("g", 1, &quiet.member_id),
        Err(CoordinatorError::UnknownMemberId)
    );
    let again = c.join(rejoin("g", "busy", &busy.member_id)).await.unwrap();
    assert_eq!(again.generation, 2);
    assert_eq!(again.leader, busy.member_id);
    assert_eq!(again.members.len(), 1, "only the live member is left");
    assert_eq!(
        c.commit("g", 1, &quiet.member_id, vec![("t".to_string(), 0, 1, None)]),
        Err(CoordinatorError::UnknownMemberId)
    );
}

#[tokio::test]
async fn a_member_that_does_not_rejoin_in_time_is_left_out_of_the_next_generation() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut requests = vec![request("g", "a"), request("g", "b")];
    for r in &mut requests {
        r.rebalance_timeout = Duration::from_millis(200);
    }
    let joined = join_all(&c, requests).await;
    sync_all(&c, "g", &joined).await;
    // `a` rejoins (for new metadata); `b` keeps heartbeating but never rejoins.
    let mut again = rejoin("g", "a", &joined[0].member_id);
    again.protocols = vec![("range".to_string(), b"new".to_vec())];
    again.rebalance_timeout = Duration::from_millis(200);
    let started = std::time::Instant::now();
    let waiting = {
        let c = c.clone();
        tokio::spawn(async move { c.join(again).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        c.heartbeat("g", 1, &joined[1].member_id),
        Err(CoordinatorError::RebalanceInProgress)
    );
    let a = waiting.await.unwrap().unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "waited for the rebalance timeout"
    );
    assert_eq!(a.generation, 2);
    assert_eq!(a.members, vec![(a.member_id.clone(), None, b"new".to_vec())]);
    assert_eq!(
        c.heartbeat("g", 2, &joined[1].member_id),
        Err(CoordinatorError::UnknownMemberId)
    );
}

#[tokio::test]
async fn members_that_leave_are_removed_and_the_rest_rebalance() {
    let dir = temp_dir();
    let (c, groups) = open(&dir);
    let joined = stable_group(&c, "g", 2).await;
    let answers = c
        .leave("g", &[joined[1].member_id.clone(), "stranger".to_string()])
        .unwrap();
    assert_eq!(
        answers,
        vec![
            (joined[1].member_id.clone(), Ok(())),
            ("stranger".to_string(), Err(CoordinatorError::UnknownMemberId)),
        ]
    );
    assert_eq!(
        c.heartbeat("g", 1, &joined[0].member_id),
        Err(CoordinatorError::RebalanceInProgress)
    );
    let again = c.join(rejoin("g", "a", &joined[0].member_id)).await.unwrap();
    assert_eq!((again.generation, again.members.len()), (2, 1));

    // The last member leaving leaves nothing behind; REST instances may use the group.
    assert_eq!(c.leave("g", &[joined[0].member_id.clone()]).unwrap()[0].1, Ok(()));
    assert_eq!(c.describe("g").state, "Dead");
    assert!(c.list().is_empty());
    groups.join("g", "rest", rest_member()).unwrap();
    // Leaving a group that does not exist answers each member unknown.
    assert_eq!(
        c.leave("nope", &["m".to_string()]).unwrap(),
        vec![("m".to_string(), Err(CoordinatorError::UnknownMemberId))]
    );
}

#[tokio::test]
async fn a_new_member_first_gets_its_id_when_the_client_asks_for_the_round_trip() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut first = request("g", "rdkafka");
    first.require_known_member_id = true;
    let id = match c.join(first.clone()).await {
        Err(CoordinatorError::MemberIdRequired(id)) => id,
        other => panic!("expected MemberIdRequired, got {other:?}"),
    };
    assert!(id.starts_with("rdkafka-"), "{id}");
    assert_eq!(c.describe("g").members.len(), 0, "pending, not yet a member");
    assert_eq!(
        c.join(rejoin("g", "rdkafka", "made-up")).await,
        Err(CoordinatorError::UnknownMemberId)
    );

    let joined = c.join(rejoin("g", "rdkafka", &id)).await.unwrap();
    assert_eq!(
        (joined.generation, joined.member_id.as_str(), joined.leader.as_str()),
        (1, id.as_str(), id.as_str())
    );

    // A pending id lapses after its session timeout.
    let mut late = request("g", "late");
    late.require_known_member_id = true;
    late.session_timeout = Duration::from_millis(50);
    let Err(CoordinatorError::MemberIdRequired(late_id)) = c.join(late).await else {
        panic!("expected MemberIdRequired");
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        c.join(rejoin("g", "late", &late_id)).await,
        Err(CoordinatorError::UnknownMemberId)
    );
}

#[tokio::test]
async fn a_static_member_coming_back_replaces_its_old_incarnation() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut req = request("g", "a");
    req.group_instance_id = Some("host-1".to_string());
    req.require_known_member_id = true; // static members skip the round trip
    let old = c.join(req.clone()).await.unwrap();
    assert!(old.member_id.starts_with("host-1-"));
    assert_eq!(
        old.members,
        vec![(old.member_id.clone(), Some("host-1".to_string()), b"meta-a".to_vec())]
    );
    let new = c.join(req).await.unwrap();
    assert_ne!(new.member_id, old.member_id);
    assert_eq!(new.generation, 2);
    assert_eq!(new.members.len(), 1, "the old incarnation is gone");
    assert_eq!(
        c.heartbeat("g", 2, &old.member_id),
        Err(CoordinatorError::UnknownMemberId)
    );
}

#[tokio::test]
async fn commits_are_checked_against_generation_and_membership() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let offset = |o: i64| vec![("t".to_string(), 0, o, None)];

    // Joined but not yet synced: asked to finish the rebalance first.
    let joined = c.join(request("g", "a")).await.unwrap();
    let me = joined.member_id.clone();
    assert_eq!(
        c.commit("g", 1, &me, offset(1)),
        Err(CoordinatorError::RebalanceInProgress)
    );
    c.sync("g", 1, &me, vec![(me.clone(), Vec::new())]).await.unwrap();

    assert_eq!(
        c.commit("g", 0, &me, offset(2)),
        Err(CoordinatorError::IllegalGeneration)
    );
    assert_eq!(
        c.commit("g", 1, "stranger", offset(2)),
        Err(CoordinatorError::UnknownMemberId)
    );
    assert_eq!(
        c.commit("g", -1, "", offset(2)),
        Err(CoordinatorError::UnknownMemberId),
        "only members commit to a group with members"
    );
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![],
        "nothing refused was stored"
    );
    c.commit("g", 1, &me, offset(3)).unwrap();
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![("t".to_string(), 0, 3, None)]);

    // Groups without membership take "simple" commits; other commits need a member.
    c.commit("solo", -1, "", offset(7)).unwrap();
    assert_eq!(
        c.fetch_offsets("solo", None).unwrap(),
        vec![("t".to_string(), 0, 7, None)]
    );
    assert_eq!(
        c.commit("other", 4, "m", offset(1)),
        Err(CoordinatorError::IllegalGeneration)
    );
    assert_eq!(
        c.commit("other", -1, "m", offset(1)),
        Err(CoordinatorError::UnknownMemberId)
    );

    // Once the member has left, the group takes simple commits.
    c.leave("g", &[me]).unwrap();
    c.commit("g", -1, "", offset(9)).unwrap();
    assert_eq!(c.fetch_offsets("g", None).unwrap(), vec![("t".to_string(), 0, 9, None)]);

    // Bad input: a group id that is not one, oversized metadata.
    assert_eq!(c.commit("", -1, "", offset(1)), Err(CoordinatorError::InvalidGroupId));
    assert_eq!(
        c.commit("../x", -1, "", offset(1)),
        Err(CoordinatorError::InvalidGroupId)
    );
    let huge = vec![("t".to_string(), 0, 1, Some("x".repeat(MAX_OFFSET_METADATA_BYTES + 1)))];
    assert_eq!(
        c.commit("solo", -1, "", huge),
        Err(CoordinatorError::OffsetMetadataTooLarge)
    );
    assert_eq!(
        c.fetch_offsets("solo", None).unwrap()[0].2,
        7,
        "the refused commit changed nothing"
    );
}

#[tokio::test]
async fn commit_metadata_round_trips_and_survives_a_restart() {
    let dir = temp_dir();
    {
        let (c, _) = open(&dir);
        c.commit(
            "g",
            -1,
            "",
            vec![
                ("orders".to_string(), 0, 10, Some("from host 1".to_string())),
                ("orders".to_string(), 1, 20, None),
            ],
        )
        .unwrap();
        assert_eq!(
            c.fetch_offsets("g", Some(&[("orders".to_string(), 0), ("orders".to_string(), 2)]))
                .unwrap(),
            vec![
                ("orders".to_string(), 0, 10, Some("from host 1".to_string())),
                ("orders".to_string(), 2, -1, None),
            ],
            "a partition without a commit answers -1"
        );
    }
    let text = std::fs::read_to_string(dir.join("groups/g.json")).unwrap();
    assert!(text.contains("\"metadata\": \"from host 1\""), "{text}");
    assert_eq!(
        text.matches("metadata").count(),
        1,
        "none stored where none was given: {text}"
    );

    let (c, groups) = open(&dir);
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![
            ("orders".to_string(), 0, 10, Some("from host 1".to_string())),
            ("orders".to_string(), 1, 20, None),
        ]
    );
    assert_eq!(groups.committed("g", &[]).unwrap().len(), 2);
    assert_eq!(c.fetch_offsets("never", None).unwrap(), vec![]);
    assert_eq!(c.fetch_offsets("", None), Err(CoordinatorError::InvalidGroupId));
}

#[test]
fn group_files_written_before_commit_metadata_still_load() {
    let dir = temp_dir();
    std::fs::create_dir_all(dir.join("groups")).unwrap();
    std::fs::write(
        dir.join("groups/old.json"),
        br#"{"offsets":[{"topic":"t","partition":0,"offset":4}]}"#,
    )
    .unwrap();
    let groups = Groups::open(&dir).unwrap();
    assert_eq!(
        groups.committed_with_metadata("old", &[]).unwrap(),
        vec![(("t".to_string(), 0), 4, None)]
    );
}

/// One topic `t` with one partition holding offsets 0..100.
struct OnePartition;

impl Partitions for OnePartition {
    fn count(&self, topic: &str) -> Option<u32> {
        (topic == "t").then_some(1)
    }

    fn bounds(&self, topic: &str, partition: u32) -> Option<(i64, i64)> {
        (topic == "t" && partition == 0).then_some((0, 100))
    }
}

fn rest_member() -> MemberConfig {
    MemberConfig {
        owner: None,
        reset: Reset::Earliest,
        auto_commit: false,
        session_timeout: Duration::from_secs(60),
        format: "json".to_string(),
    }
}

#[tokio::test]
async fn offsets_committed_through_either_protocol_are_read_through_the_other() {
    let dir = temp_dir();
    let (c, groups) = open(&dir);
    // REST instance commits; Kafka's OffsetFetch reads it.
    groups.join("g", "rest-a", rest_member()).unwrap();
    groups.subscribe("g", "rest-a", vec!["t".to_string()]).unwrap();
    groups.assignment("g", "rest-a", &OnePartition).unwrap();
    groups
        .commit("g", "rest-a", Some(vec![(("t".to_string(), 0), 42)]))
        .unwrap();
    assert_eq!(
        c.fetch_offsets("g", None).unwrap(),
        vec![("t".to_string(), 0, 42, None)]
    );
    groups.leave("g", "rest-a").unwrap();

    // A Kafka member commits; the REST side (and its lag) reads it.
    let joined = c.join(request("g", "kafka")).await.unwrap();
    let me = joined.member_id.clone();
    c.sync("g", 1, &me, vec![(me.clone(), Vec::new())]).await.unwrap();
    c.commit("g", 1, &me, vec![("t".to_string(), 0, 60, Some("m".to_string()))])
        .unwrap();
    assert_eq!(groups.committed("g", &[]).unwrap(), vec![(("t".to_string(), 0), 60)]);
    let view = groups.describe("g", &OnePartition).unwrap();
    assert_eq!((view.offsets[0].committed, view.offsets[0].lag), (Some(60), 40));
    // A later REST instance starts where the Kafka consumer committed.
    c.leave("g", &[me]).unwrap();
    groups.join("g", "rest-b", rest_member()).unwrap();
    groups.subscribe("g", "rest-b", vec!["t".to_string()]).unwrap();
    let assignment = groups.assignment("g", "rest-b", &OnePartition).unwrap();
    assert_eq!(assignment.positions, vec![(("t".to_string(), 0), 60)]);
}

#[tokio::test]
async fn a_group_has_one_kind_of_membership_at_a_time() {
    let dir = temp_dir();
    let (c, groups) = open(&dir);
    groups.join("mixed", "rest-a", rest_member()).unwrap();
    assert_eq!(
        c.join(request("mixed", "kafka")).await,
        Err(CoordinatorError::InconsistentGroupProtocol)
    );
    assert_eq!(
        c.commit("mixed", -1, "", vec![("t".to_string(), 0, 1, None)]),
        Err(CoordinatorError::UnknownMemberId),
        "a group with REST instances takes no memberless Kafka commits"
    );
    let described = c.describe("mixed");
    assert_eq!(
        (described.state, described.protocol_type.as_str()),
        ("Stable", "consumer")
    );
    assert_eq!(described.members[0].member_id, "rest-a");
    groups.leave("mixed", "rest-a").unwrap();

    let joined = c.join(request("mixed", "kafka")).await.unwrap();
    let refused = groups.join("mixed", "rest-b", rest_member()).unwrap_err();
    assert_eq!(refused, GroupError::HeldByKafka("mixed".to_string()));
    assert!(refused.to_string().contains("'mixed'"), "{refused}");
    // Both kinds are listed: the REST groups' names too.
    groups.join("rest-only", "rest-c", rest_member()).unwrap();
    assert_eq!(
        c.list(),
        vec![
            (
                "mixed".to_string(),
                "consumer".to_string(),
                "CompletingRebalance".to_string()
            ),
            ("rest-only".to_string(), "consumer".to_string(), "Stable".to_string()),
        ]
    );
    assert_eq!(groups.list(), vec!["mixed".to_string(), "rest-only".to_string()]);
    assert_eq!(c.members("mixed").len(), 1);
    assert!(
        c.members("rest-only").is_empty(),
        "REST instances are not Kafka members"
    );

    c.leave("mixed", &[joined.member_id]).unwrap();
    groups.join("mixed", "rest-b", rest_member()).unwrap();
}

#[tokio::test]
async fn joins_that_cannot_be_served_are_refused_with_the_reason() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut bad = request("", "a");
    assert_eq!(c.join(bad.clone()).await, Err(CoordinatorError::InvalidGroupId));
    bad.group = "g g".to_string();
    assert_eq!(c.join(bad).await, Err(CoordinatorError::InvalidGroupId));
    let mut short = request("g", "a");
    short.session_timeout = Duration::from_millis(1);
    assert_eq!(c.join(short).await, Err(CoordinatorError::InvalidSessionTimeout));
    let mut long = request("g", "a");
    long.session_timeout = Duration::from_secs(3600);
    assert_eq!(c.join(long).await, Err(CoordinatorError::InvalidSessionTimeout));
    let mut none = request("g", "a");
    none.protocols.clear();
    assert_eq!(c.join(none).await, Err(CoordinatorError::InconsistentGroupProtocol));
    assert_eq!(c.describe("g").state, "Dead", "nothing was created by refused joins");

    // Members must share a protocol type and at least one protocol.
    c.join(request("g", "a")).await.unwrap();
    let mut other_kind = request("g", "b");
    other_kind.protocol_type = "connect".to_string();
    assert_eq!(
        c.join(other_kind).await,
        Err(CoordinatorError::InconsistentGroupProtocol)
    );
    let mut other_protocol = request("g", "b");
    other_protocol.protocols = vec![("sticky".to_string(), Vec::new())];
    assert_eq!(
        c.join(other_protocol).await,
        Err(CoordinatorError::InconsistentGroupProtocol)
    );
}

#[tokio::test]
async fn the_protocol_is_one_every_member_supports_that_most_prefer() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let with = |group: &str, client: &str, protocols: &[&str]| JoinRequest {
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), p.as_bytes().to_vec()))
            .collect(),
        ..request(group, client)
    };
    let joined = join_all(
        &c,
        vec![
            with("g", "a", &["range", "roundrobin"]),
            with("g", "b", &["roundrobin", "range"]),
            with("g", "c", &["roundrobin", "range", "sticky"]),
        ],
    )
    .await;
    assert!(joined.iter().all(|j| j.protocol_name == "roundrobin"), "{joined:?}");
    let leader = joined.iter().find(|j| j.member_id == j.leader).unwrap();
    assert!(
        leader.members.iter().all(|(_, _, meta)| meta == b"roundrobin"),
        "metadata of the chosen protocol"
    );
    // Only what all support counts: `sticky` is `c`'s alone.
    let joined = join_all(
        &c,
        vec![with("h", "a", &["sticky", "range"]), with("h", "b", &["range"])],
    )
    .await;
    assert!(joined.iter().all(|j| j.protocol_name == "range"), "{joined:?}");
    // A tie goes to the preference of the member that joined first.
    let joined = join_all(
        &c,
        vec![
            with("i", "a", &["range", "roundrobin"]),
            with("i", "b", &["roundrobin", "range"]),
        ],
    )
    .await;
    assert!(joined.iter().all(|j| j.protocol_name == "range"), "{joined:?}");
}

#[tokio::test]
async fn a_group_holds_at_most_its_member_limit() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut req = request("big", "a");
    req.require_known_member_id = true;
    for _ in 0..MAX_MEMBERS_PER_GROUP {
        assert!(matches!(
            c.join(req.clone()).await,
            Err(CoordinatorError::MemberIdRequired(_))
        ));
    }
    assert_eq!(c.join(req).await, Err(CoordinatorError::GroupMaxSizeReached));
}

#[tokio::test]
async fn shutting_down_answers_waiting_members_and_refuses_later_calls() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let waiting = {
        let c = c.clone();
        tokio::spawn(async move { c.join(request("g", "a")).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.shut_down();
    assert_eq!(waiting.await.unwrap(), Err(CoordinatorError::CoordinatorNotAvailable));
    assert_eq!(c.heartbeat("g", 1, "m"), Err(CoordinatorError::CoordinatorNotAvailable));
    assert_eq!(
        c.join(request("g", "b")).await,
        Err(CoordinatorError::CoordinatorNotAvailable)
    );
}

#[test]
fn describing_groups_by_what_they_hold() {
    let dir = temp_dir();
    let (c, groups) = open(&dir);
    assert_eq!(
        c.describe("nobody"),
        GroupDescription {
            group: "nobody".to_string(),
            state: "Dead",
            protocol_type: String::new(),
            protocol_name: String::new(),
            members: Vec::new(),
        }
    );
    groups
        .commit_offsets("offsets-only", vec![(("t".to_string(), 0), 1, None)])
        .unwrap();
    assert_eq!(c.describe("offsets-only").state, "Empty");
    assert_eq!(
        c.list(),
        vec![("offsets-only".to_string(), String::new(), "Empty".to_string())]
    );
}

/// The standard consumer protocol's bytes: version, then topics (subscription) or topics
/// with partitions (assignment), then user data.
#[test]
fn consumer_protocol_topics_and_partitions_are_read_and_garbage_is_not() {
    let mut subscription = vec![0, 1, 0, 0, 0, 2];
    for topic in ["orders", "users"] {
        subscription.extend((topic.len() as i16).to_be_bytes());
        subscription.extend(topic.as_bytes());
    }
    subscription.extend((-1i32).to_be_bytes()); // null user data
    assert_eq!(
        subscribed_topics(&subscription),
        Some(vec!["orders".to_string(), "users".to_string()])
    );

    let mut assignment = vec![0, 0, 0, 0, 0, 1];
    assignment.extend(6i16.to_be_bytes());
    assignment.extend(b"orders");
    assignment.extend(2i32.to_be_bytes());
    assignment.extend(0i32.to_be_bytes());
    assignment.extend(3i32.to_be_bytes());
    assert_eq!(
        assigned_partitions(&assignment),
        Some(vec![("orders".to_string(), vec![0, 3])])
    );

    assert_eq!(subscribed_topics(&[]), None);
    assert_eq!(
        subscribed_topics(&[0, 0, 0x7f, 0xff, 0xff, 0xff]),
        None,
        "an impossible count"
    );
    assert_eq!(
        assigned_partitions(&assignment[..assignment.len() - 2]),
        None,
        "cut short"
    );
    assert_eq!(
        subscribed_topics(&[0, 0, 0, 0, 0, 1, 0, 2, 0xff, 0xfe]),
        None,
        "not UTF-8"
    );
}

#[tokio::test]
async fn a_leader_that_never_assigns_is_removed_and_the_followers_rejoin() {
    let dir = temp_dir();
    let (c, _) = open(&dir);
    let mut requests = vec![request("g", "a"), request("g", "b")];
    for r in &mut requests {
        r.rebalance_timeout = Duration::from_millis(150);
    }
    let joined = join_all(&c, requests).await;
    let leader = joined.iter().find(|j| j.member_id == j.leader).unwrap().clone();
    let follower = joined.iter().find(|j| j.member_id != j.leader).unwrap().clone();
    // The leader keeps heartbeating (its session stays alive) but never sends SyncGroup.
    assert_eq!(c.heartbeat("g", 1, &leader.member_id), Ok(()));
    let answer = c.sync("g", 1, &follower.member_id, Vec::new()).await;
    assert_eq!(answer, Err(CoordinatorError::RebalanceInProgress));
    assert_eq!(
        c.heartbeat("g", 1, &leader.member_id),
        Err(CoordinatorError::UnknownMemberId)
    );
    let again = c.join(rejoin("g", "b", &follower.member_id)).await.unwrap();
    assert_eq!(
        (again.generation, again.leader.as_str()),
        (2, follower.member_id.as_str())
    );
}

#[tokio::test]
async fn only_groups_without_members_are_deleted_with_their_offsets() {
    let dir = temp_dir();
    let (c, groups) = open(&dir);
    assert_eq!(c.delete("nope"), Err(CoordinatorError::GroupIdNotFound));
    assert_eq!(c.delete("../x"), Err(CoordinatorError::InvalidGroupId));

    let joined = c.join(request("kafka", "a")).await.unwrap();
    assert_eq!(c.delete("kafka"), Err(CoordinatorError::NonEmptyGroup));
    groups.join("rest", "r", rest_member()).unwrap();
    assert_eq!(c.delete("rest"), Err(CoordinatorError::NonEmptyGroup));

    c.commit("old", -1, "", vec![("t".to_string(), 0, 5, None)]).unwrap();
    assert!(dir.join("groups/old.json").exists());
    assert_eq!(c.delete("old"), Ok(()));
    assert!(!dir.join("groups/old.json").exists(), "the file is gone");
    assert_eq!(c.fetch_offsets("old", None).unwrap(), vec![]);
    assert_eq!(c.describe("old").state, "Dead");
    assert_eq!(c.delete("old"), Err(CoordinatorError::GroupIdNotFound));

    // After its members leave, a group can go.
    c.leave("kafka", &[joined.member_id]).unwrap();
    c.commit("kafka", -1, "", vec![("t".to_string(), 0, 1, None)]).unwrap();
    assert_eq!(c.delete("kafka"), Ok(()));
    drop((c, groups));
    let (c, _) = open(&dir);
    assert_eq!(
        c.fetch_offsets("old", None).unwrap(),
        vec![],
        "still gone after a restart"
    );
    assert_eq!(
        c.list(),
        vec![],
        "the REST group had no commits and its instance is gone with the restart"
    );
}
