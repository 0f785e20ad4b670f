public import LeveePolicy

extension SerfInstance {
    /// The prefix of Serf's own queries, answered here and never shown to the application (serf
    /// internal_query.go `InternalQueryPrefix`).
    public static let internalQueryPrefix = "_serf_"

    /// Sends a query (serf serf.go `Query`): stamped `queryClock.time`, processed locally (which
    /// witnesses that time, so the clock moves on) and broadcast. Answers arrive as
    /// `.queryAnswered` directives until `.queryFinished` at the ticket's deadline.
    ///
    /// The query ID is drawn from `rng` in `0...Int32.max`, as serf's `uint32(rand.Int31())`.
    public mutating func query(
        name: String,
        payload: [UInt8]?,
        parameters: SerfQueryParameters = SerfQueryParameters(),
        now: Instant,
        using rng: inout some RandomNumberGenerator
    ) throws(SerfError) -> (ticket: SerfQueryTicket, directives: [SerfDirective]) {
        guard state == .alive else { throw SerfError(.notAlive, "cannot send a query while \(state)") }
        var flags: UInt32 = 0
        if parameters.requestAck { flags |= Query.ackFlag }
        if parameters.noBroadcast { flags |= Query.noBroadcastFlag }
        let timeout = parameters.timeout ?? defaultQueryTimeout
        let filters = parameters.encodedFilters
        let query = Query(
            lTime: queryClock.time,
            id: UInt32.random(in: 0...UInt32(Int32.max), using: &rng),
            addr: configuration.address.ip,
            port: configuration.address.port,
            sourceNode: configuration.nodeName,
            filters: filters.isEmpty ? nil : filters,
            flags: flags,
            timeout: timeout,
            name: name,
            payload: payload
        )
        let raw = SerfMessage.query(query).encoded()
        guard raw.count <= configuration.querySizeLimit else {
            throw SerfError(
                .queryTooLarge,
                "the encoded query takes \(raw.count) bytes, the limit is \(configuration.querySizeLimit)"
            )
        }
        guard 1 + raw.count <= configuration.maxBroadcastBytes else {
            throw SerfError(.queryTooLarge, "the encoded query does not fit a gossip packet")
        }
        let ticket = SerfQueryTicket(name: name, lTime: query.lTime, id: query.id, deadline: now + timeout)
        outgoingQueries[query.lTime] = OutgoingQuery(ticket: ticket)
        var directives: [SerfDirective] = []
        _ = handleQuery(query, now: now, into: &directives)
        directives.append(.broadcast(raw, queue: .queries))
        return (ticket, directives)
    }

    /// serf query.go `DefaultQueryTimeout`: `GossipInterval × QueryTimeoutMult × ceil(log10(n+1))`,
    /// with n the members memberlist counts (those neither failed nor left).
    public var defaultQueryTimeout: Duration {
        let n = records.values.filter { $0.member.status == .alive || $0.member.status == .leaving }.count
        var factor = 0
        var power = 1
        while power < n + 1 {
            factor += 1
            power *= 10
        }
        return configuration.gossipInterval * (configuration.queryTimeoutMultiplier * max(factor, 1))
    }

    /// Answers a query the application received (serf event.go `Query.Respond`): a query response
    /// sent by UDP to the query's `Addr:Port`. Each query may be answered once, before its deadline,
    /// with an encoding of at most `queryResponseSizeLimit` bytes.
    ///
    /// Relayed copies (`RelayFactor`) are not sent.
    public mutating func respond(
        to query: IncomingQuery,
        payload: [UInt8]?,
        now: Instant
    ) throws(SerfError) -> [SerfDirective] {
        let key = QueryKey(lTime: query.lTime, id: query.id)
        guard let pending = answerableQueries[key] else {
            throw SerfError(.queryNotAnswerable, "query \(query.name) was not delivered or was already answered")
        }
        guard now <= pending.deadline else {
            answerableQueries[key] = nil
            throw SerfError(.queryNotAnswerable, "query \(query.name) is past its deadline")
        }
        let raw = responseMessage(lTime: query.lTime, id: query.id, flags: 0, payload: payload)
        guard raw.count <= configuration.queryResponseSizeLimit else {
            throw SerfError(
                .responseTooLarge,
                "the encoded response takes \(raw.count) bytes, the limit is \(configuration.queryResponseSizeLimit)"
            )
        }
        answerableQueries[key] = nil
        return [.sendUserMessage(raw, to: pending.query.replyAddress)]
    }

    func responseMessage(lTime: LamportTime, id: UInt32, flags: UInt32, payload: [UInt8]?) -> [UInt8] {
        SerfMessage.queryResponse(
            QueryResponse(lTime: lTime, id: id, from: configuration.nodeName, flags: flags, payload: payload)
        ).encoded()
    }

    /// serf serf.go `handleQuery`; returns whether to rebroadcast.
    ///
    /// Witness the LTime; drop queries before `queryMinTime`, outside the window or already seen by
    /// (LTime, ID); a query that fails a filter, or has one we cannot read, is not processed but is
    /// still rebroadcast; otherwise ack to `Addr:Port` if `Flags & 1`, then hand it on. Rebroadcast
    /// unless `Flags & 2`.
    mutating func handleQuery(_ query: Query, now: Instant, into directives: inout [SerfDirective]) -> Bool {
        queryClock.witness(query.lTime)
        guard query.lTime >= queryMinTime else {
            counters.staleQueries += 1
            return false
        }
        if query.lTime.isBehindWindow(of: queryClock.time, window: queryBuffer.count) {
            counters.staleQueries += 1
            return false
        }
        let slot = Int(query.lTime.rawValue % UInt64(queryBuffer.count))
        if var seen = queryBuffer[slot], seen.lTime == query.lTime {
            if seen.ids.contains(query.id) {
                counters.duplicateQueries += 1
                return false
            }
            seen.ids.append(query.id)
            queryBuffer[slot] = seen
        } else {
            queryBuffer[slot] = SeenQueries(lTime: query.lTime, ids: [query.id])
        }
        let rebroadcast = query.flags & Query.noBroadcastFlag == 0
        guard shouldProcess(filters: query.filters ?? []) else {
            counters.filteredQueries += 1
            return rebroadcast
        }
        let replyAddress = SerfMemberAddress(ip: query.addr, port: query.port)
        if query.flags & Query.ackFlag != 0 {
            let ack = responseMessage(lTime: query.lTime, id: query.id, flags: Query.ackFlag, payload: nil)
            directives.append(.sendUserMessage(ack, to: replyAddress))
        }
        let incoming = IncomingQuery(
            name: query.name,
            payload: query.payload,
            lTime: query.lTime,
            id: query.id,
            sourceNode: query.sourceNode,
            replyAddress: replyAddress,
            deadline: now + query.timeout
        )
        if query.name.hasPrefix(Self.internalQueryPrefix) {
            handleInternalQuery(incoming, into: &directives)
        } else {
            answerableQueries[QueryKey(lTime: query.lTime, id: query.id)] = (incoming, incoming.deadline)
            directives.append(.deliverQuery(incoming))
        }
        return rebroadcast
    }

    /// serf query.go `shouldProcessQuery`: every filter must admit the local node; a filter that does
    /// not decode or has an unknown type excludes it.
    func shouldProcess(filters: [[UInt8]]) -> Bool {
        for bytes in filters {
            guard let filter = try? QueryFilter(bytes),
                filter.admits(nodeName: configuration.nodeName, tags: tags)
            else { return false }
        }
        return true
    }

    /// serf internal_query.go `handleQuery`. `_serf_ping` needs only the ack already sent;
    /// `_serf_conflict` answers with our view of the named member (`[6][nil]` when unknown, nothing when
    /// it names us); the key queries answer that this node has no keyring to manage over Serf, since
    /// Levee's keyring is configuration. Unknown internal queries get no answer, as in serf.
    mutating func handleInternalQuery(_ query: IncomingQuery, into directives: inout [SerfDirective]) {
        let payload: [UInt8]
        switch query.name.dropFirst(Self.internalQueryPrefix.count) {
        case "ping":
            return
        case "conflict":
            let node = String(decoding: query.payload ?? [], as: UTF8.self)
            guard node != configuration.nodeName else { return }
            if let member = records[node]?.member {
                payload = SerfMessage.conflictResponse(member.conflictMember).encoded()
            } else {
                payload = [SerfMessageType.conflictResponse.rawValue, 0xc0]
            }
        case "install-key", "use-key", "remove-key", "list-keys":
            payload = SerfMessage.keyResponse(
                KeyResponse(
                    result: false,
                    message: "keyring changes over serf queries are not supported by this node",
                    keys: [],
                    primaryKey: ""
                )
            ).encoded()
        default:
            return
        }
        let raw = responseMessage(lTime: query.lTime, id: query.id, flags: 0, payload: payload)
        guard raw.count <= configuration.queryResponseSizeLimit else { return }
        directives.append(.sendUserMessage(raw, to: query.replyAddress))
    }

    /// serf serf.go `handleQueryResponse`: match by LTime and ID to a running query, then report each
    /// node's first ack and first response.
    mutating func handleQueryResponse(
        _ response: QueryResponse,
        now: Instant,
        into directives: inout [SerfDirective]
    ) {
        guard var outgoing = outgoingQueries[response.lTime], outgoing.ticket.id == response.id,
            now <= outgoing.ticket.deadline
        else {
            counters.unmatchedResponses += 1
            return
        }
        if response.isAck {
            guard outgoing.acks.insert(response.from).inserted else {
                counters.unmatchedResponses += 1
                return
            }
            directives.append(.queryAnswered(SerfQueryAnswer(query: outgoing.ticket, from: response.from, kind: .ack)))
        } else {
            guard outgoing.responses.insert(response.from).inserted else {
                counters.unmatchedResponses += 1
                return
            }
            directives.append(
                .queryAnswered(
                    SerfQueryAnswer(query: outgoing.ticket, from: response.from, kind: .response(response.payload))
                )
            )
        }
        outgoingQueries[response.lTime] = outgoing
    }
}
