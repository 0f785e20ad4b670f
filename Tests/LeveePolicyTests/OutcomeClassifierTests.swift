import LeveePolicy
import Testing

@Suite struct OutcomeClassifierTests {
    let classifier = OutcomeClassifier()

    @Test(arguments: [
        (200, AttemptOutcome.success), (204, .success), (301, .success), (400, .success), (404, .success),
        (429, .success), (499, .success), (500, .failure(.httpStatus(500))), (503, .failure(.httpStatus(503))),
        (599, .failure(.httpStatus(599))), (99, .failure(.httpStatus(99))), (600, .failure(.httpStatus(600))),
        (0, .failure(.httpStatus(0))), (-1, .failure(.httpStatus(-1))),
    ])
    func httpDefaults(status: Int, expected: AttemptOutcome) {
        #expect(classifier.classify(httpStatus: status) == expected)
        #expect(classifier.classify(.http(status)) == expected)
    }

    @Test(arguments: [
        (0, AttemptOutcome.success), (1, .ignored), (2, .failure(.grpcStatus(2))), (3, .success),
        (4, .failure(.grpcStatus(4))), (5, .success), (8, .success), (12, .success),
        (13, .failure(.grpcStatus(13))), (14, .failure(.grpcStatus(14))), (16, .success),
        (17, .failure(.grpcStatus(17))), (-1, .failure(.grpcStatus(-1))),
    ])
    func grpcDefaults(code: Int, expected: AttemptOutcome) {
        #expect(classifier.classify(grpcStatus: code) == expected)
        #expect(classifier.classify(.grpc(code)) == expected)
    }

    @Test(arguments: [
        (TransportFailure.connectFailure, AttemptOutcome.failure(.connectFailure)),
        (.reset, .failure(.reset)),
        (.timeout, .failure(.timeout)),
        (.cancelledByCaller, .ignored),
    ])
    func transportFailures(failure: TransportFailure, expected: AttemptOutcome) {
        #expect(classifier.classify(failure) == expected)
    }

    @Test func configuredListsReplaceTheDefaults() throws {
        let config = OutcomeClassifierConfiguration(
            failure: try AttemptPattern.parseList(["500-502", "504", "429", "resource-exhausted"], key: "failure"),
            ignored: try AttemptPattern.parseList(["501", "not-found"], key: "ignored")
        )
        try config.validate()
        let classifier = OutcomeClassifier(configuration: config)
        #expect(classifier.classify(httpStatus: 500) == .failure(.httpStatus(500)))
        #expect(classifier.classify(httpStatus: 501) == .ignored)
        #expect(classifier.classify(httpStatus: 503) == .success)
        #expect(classifier.classify(httpStatus: 429) == .failure(.httpStatus(429)))
        #expect(classifier.classify(grpcStatus: 8) == .failure(.grpcStatus(8)))
        #expect(classifier.classify(grpcStatus: 5) == .ignored)
        #expect(classifier.classify(grpcStatus: 14) == .success)
    }

    @Test(arguments: [
        (OutcomeClassifierConfiguration(failure: [.httpStatus(500...599), .reset]), "failure[1]", "reset"),
        (OutcomeClassifierConfiguration(ignored: [.httpStatus(700...700)]), "ignored[0]", "700"),
        (OutcomeClassifierConfiguration(ignored: [.grpcStatus(1), .grpcStatus(20)]), "ignored[1]", "grpc-20"),
    ])
    func validateNamesTheBadEntry(config: OutcomeClassifierConfiguration, key: String, value: String) {
        #expect {
            try config.validate()
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.keyPath == key && error?.value == value
        }
    }

    @Test func defaultsValidate() {
        #expect(throws: Never.self) { try OutcomeClassifierConfiguration.defaults.validate() }
    }

    @Test func statusSetsHoldOnlyValidCodes() {
        var statuses = HTTPStatusSet(500...599)
        statuses.insert(700)
        statuses.insert(0...120)
        #expect(statuses.contains(100) && statuses.contains(120) && !statuses.contains(121))
        #expect(statuses.contains(599) && !statuses.contains(700) && !statuses.contains(0))
        #expect(!HTTPStatusSet().contains(200) && HTTPStatusSet().isEmpty)
        let codes = GRPCStatusCodeSet(14, 17, -1)
        #expect(codes.contains(14) && !codes.contains(17) && !codes.contains(-1))
        #expect(GRPCStatusCodeSet.code(named: "DEADLINE_EXCEEDED") == 4)
        #expect(GRPCStatusCodeSet.code(named: "Unauthenticated") == 16)
        #expect(GRPCStatusCodeSet.code(named: "bogus") == nil)
    }
}
