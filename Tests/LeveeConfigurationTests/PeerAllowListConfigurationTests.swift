import LeveeConfiguration
import Testing

struct PeerAllowListConfigurationTests {
    @Test func absentListsLetTheFileModeDecide() throws {
        let listen = try parse("service: orders\n").listen
        #expect(listen.allow == nil)
        #expect(listen.adminAllow == nil)
    }

    @Test func listsOfUidsAndGids() throws {
        let listen = try parse(
            """
            listen:
              allow: { uids: [1000, 1001], gids: [998] }
              admin_allow: { uids: [0] }
            """
        ).listen
        #expect(listen.allow == PeerAllowList(uids: [1000, 1001], gids: [998]))
        #expect(listen.adminAllow == PeerAllowList(uids: [0]))
    }

    @Test func aCallerIsLetInByItsUidOrAnyOfItsGroups() {
        let list = PeerAllowList(uids: [1000], gids: [998])
        #expect(list.admits(uid: 1000, gid: 1000))
        #expect(list.admits(uid: 1001, gid: 998))
        #expect(list.admits(uid: 1001, gid: 1001, groups: [27, 998]))
        #expect(!list.admits(uid: 1001, gid: 1001, groups: [27]))
        #expect(!PeerAllowList().admits(uid: 0, gid: 0))
        #expect(PeerAllowList.agentUserAndRoot(uid: 1000).admits(uid: 0, gid: 0))
    }

    @Test(arguments: [
        ("listen:\n  allow: { uids: [alice] }\n", "listen.allow.uids[0]", "a numeric id"),
        ("listen:\n  allow: { uids: [-1] }\n", "listen.allow.uids[0]", "a numeric id"),
        ("listen:\n  allow: { uids: 1000 }\n", "listen.allow.uids", "a list of numeric ids"),
        ("listen:\n  admin_allow: { users: [0] }\n", "listen.admin_allow", "unknown key"),
    ])
    func badListsNameTheKey(yaml: String, keyPath: String, expected: String) throws {
        let error = try #require(parseError(yaml))
        #expect(error.keyPath.hasPrefix(keyPath), "\(error)")
        #expect(error.description.contains(expected), "\(error)")
    }

    @Test func anAllowListIsNotAChangeOfListeners() throws {
        let before = try parse("service: orders\n").listen
        var after = before
        after.allow = PeerAllowList(uids: [0])
        #expect(before.sameListeners(as: after))
        after.socket = "/run/other.sock"
        #expect(!before.sameListeners(as: after))
    }
}
