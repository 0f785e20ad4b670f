// Load client for the Levee agent's Guard API (proto/levee/v1/guard.proto), for bench/guard.py.
//
// Makes unary calls with raw protobuf bytes (no generated stubs): the request is hand-encoded,
// and for Call the response's `outcome` (field 1, varint; OUTCOME_OK = 1) is decoded and counted.
// Sequential with --concurrency 1; with C > 1, C threads each make blocking calls back to back
// until --calls calls in all have been made or --seconds have passed, whichever is first.
//
// Channels: by default each worker has its own channel *and its own connection* (a local
// subchannel pool; otherwise gRPC would share one subchannel between identical channels), so
// C workers are C HTTP/2 connections, like `wrk -c C`. `--shared-channel` puts every worker on one
// channel (one connection, C concurrent streams), the way one application process would use it.
//
// Prints one JSON object on stdout: counts, calls/s, and p50/p90/p99/max latency in microseconds
// (wall clock around each blocking call, measured calls only; warm-up calls are not recorded), and
// for Call the p50/p99 of the time the agent itself reports in CallResponse.elapsed_us.
//
//   client --target unix:///tmp/x/levee.sock --method ping --calls 5000
//   client --target unix:///tmp/x/levee.sock --method call --upstream nginx --path /
//   (same line) --concurrency 32 --calls 50000 --seconds 10

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string target;
    std::string method = "ping";  // ping | call
    std::string upstream = "nginx";
    std::string http_method = "GET";
    std::string path = "/";
    int concurrency = 1;
    long calls = 1000;
    double seconds = 10;
    long warmup = 200;
    int deadline_ms = 5000;
    bool shared_channel = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "error: %s\nusage: client --target unix:///PATH [--method ping|call] [--upstream NAME]\n"
                 "  [--http-method GET] [--path /] [--concurrency C] [--calls N] [--seconds S]\n"
                 "  [--warmup W] [--deadline-ms MS] [--shared-channel]\n",
                 why);
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--target") o.target = next();
        else if (a == "--method") o.method = next();
        else if (a == "--upstream") o.upstream = next();
        else if (a == "--http-method") o.http_method = next();
        else if (a == "--path") o.path = next();
        else if (a == "--concurrency") o.concurrency = std::stoi(next());
        else if (a == "--calls") o.calls = std::stol(next());
        else if (a == "--seconds") o.seconds = std::stod(next());
        else if (a == "--warmup") o.warmup = std::stol(next());
        else if (a == "--deadline-ms") o.deadline_ms = std::stoi(next());
        else if (a == "--shared-channel") o.shared_channel = true;
        else usage(("unknown option " + a).c_str());
    }
    if (o.target.empty()) usage("--target is required");
    if (o.method != "ping" && o.method != "call") usage("--method must be ping or call");
    if (o.concurrency < 1 || o.calls < 1 || o.seconds <= 0) usage("bad bounds");
    return o;
}

// --- protobuf wire format, the few pieces needed -------------------------------------------------

void put_varint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(static_cast<char>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out.push_back(static_cast<char>(v));
}

// A length-delimited field (wire type 2).
void put_bytes(std::string& out, uint32_t field, const std::string& value) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, value.size());
    out += value;
}

// CallRequest{upstream = 1, http = 2: HttpRequest{method = 1, path = 2}}.
std::string encode_call_request(const Options& o) {
    std::string http;
    put_bytes(http, 1, o.http_method);
    put_bytes(http, 2, o.path);
    std::string req;
    put_bytes(req, 1, o.upstream);
    put_bytes(req, 2, http);
    return req;
}

bool get_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
        uint8_t b = *p++;
        v |= static_cast<uint64_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

struct CallSummary {
    uint64_t outcome = 0;  // proto3 default: absent means 0 (UNSPECIFIED)
    std::string detail;    // field 9
    uint64_t elapsed_us = 0;  // field 7: the agent's own time for the call
    bool ok_parse = true;
};

// Reads CallResponse's top-level fields; keeps outcome (1), elapsed_us (7) and detail (9), skips the rest.
CallSummary decode_call_response(const std::string& bytes) {
    CallSummary s;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
    const uint8_t* end = p + bytes.size();
    while (p < end) {
        uint64_t key;
        if (!get_varint(p, end, key)) return s.ok_parse = false, s;
        uint32_t field = key >> 3, wire = key & 7;
        uint64_t v;
        switch (wire) {
            case 0:
                if (!get_varint(p, end, v)) return s.ok_parse = false, s;
                if (field == 1) s.outcome = v;
                if (field == 7) s.elapsed_us = v;
                break;
            case 1: p += 8; break;
            case 5: p += 4; break;
            case 2:
                if (!get_varint(p, end, v) || v > static_cast<uint64_t>(end - p)) return s.ok_parse = false, s;
                if (field == 9) s.detail.assign(reinterpret_cast<const char*>(p), v);
                p += v;
                break;
            default: return s.ok_parse = false, s;
        }
    }
    if (p != end) s.ok_parse = false;
    return s;
}

std::string byte_buffer_to_string(const grpc::ByteBuffer& bb) {
    std::vector<grpc::Slice> slices;
    std::string out;
    if (!bb.Dump(&slices).ok()) return out;
    for (auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    return out;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\', o += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            o += buf;
        } else o += c;
    }
    return o;
}

// --- load ----------------------------------------------------------------------------------------

struct Shared {
    std::atomic<long> remaining_warmup{0};
    std::atomic<long> remaining{0};
    Clock::time_point stop_at;
    std::mutex mu;
    std::map<uint64_t, long> outcomes;  // outcome -> count (Call only)
    std::map<std::string, long> rpc_errors;  // status code: message -> count
    std::string first_non_ok_detail;
    long parse_errors = 0;
};

struct WorkerResult {
    std::vector<uint32_t> latencies_us;
    std::vector<uint32_t> agent_elapsed_us;  // Call only: CallResponse.elapsed_us
    long rpc_errors = 0;
    long non_ok = 0;
};

std::shared_ptr<grpc::Channel> make_channel(const Options& o, int index) {
    grpc::ChannelArguments args;
    if (!o.shared_channel) {
        // Own subchannel pool: a connection of its own, not one shared with identical channels.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt("levee.bench.worker", index);
    }
    return grpc::CreateCustomChannel(o.target, grpc::InsecureChannelCredentials(), args);
}

void worker(const Options& o, std::shared_ptr<grpc::Channel> channel, Shared& shared, WorkerResult& result) {
    const char* name = o.method == "ping" ? "/levee.v1.Guard/Ping" : "/levee.v1.Guard/Call";
    grpc::internal::RpcMethod method(name, grpc::internal::RpcMethod::NORMAL_RPC, channel);
    std::string payload = o.method == "ping" ? std::string() : encode_call_request(o);
    grpc::Slice slice(payload);
    result.latencies_us.reserve(std::min<long>(o.calls / o.concurrency + 1024, 4'000'000));

    auto one = [&](bool record) {
        grpc::ByteBuffer req(&slice, 1), resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(o.deadline_ms));
        auto t0 = Clock::now();
        grpc::Status st = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
            channel.get(), method, &ctx, req, &resp);
        auto t1 = Clock::now();
        if (!record) return;
        result.latencies_us.push_back(
            static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
        if (!st.ok()) {
            result.rpc_errors++;
            std::lock_guard<std::mutex> lock(shared.mu);
            shared.rpc_errors[std::to_string(st.error_code()) + ": " + st.error_message()]++;
            return;
        }
        if (o.method == "call") {
            CallSummary s = decode_call_response(byte_buffer_to_string(resp));
            result.agent_elapsed_us.push_back(static_cast<uint32_t>(s.elapsed_us));
            if (s.outcome != 1 || !s.ok_parse) {
                result.non_ok++;
                std::lock_guard<std::mutex> lock(shared.mu);
                shared.outcomes[s.outcome]++;
                if (!s.ok_parse) shared.parse_errors++;
                if (shared.first_non_ok_detail.empty()) shared.first_non_ok_detail = s.detail;
            }
        }
    };

    while (shared.remaining_warmup.fetch_sub(1) > 0) one(false);
    while (shared.remaining.fetch_sub(1) > 0 && Clock::now() < shared.stop_at) one(true);
}

uint32_t percentile(const std::vector<uint32_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    size_t i = static_cast<size_t>(q * (sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);

    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (int i = 0; i < (o.shared_channel ? 1 : o.concurrency); ++i) {
        auto ch = make_channel(o, i);
        if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
            std::fprintf(stderr, "error: could not connect to %s\n", o.target.c_str());
            return 1;
        }
        channels.push_back(ch);
    }

    Shared shared;
    std::vector<WorkerResult> results(o.concurrency);
    std::vector<std::thread> threads;

    // Warm-up: every worker takes from one count; measurement starts when all have finished it.
    shared.remaining_warmup = o.warmup;
    shared.remaining = 0;
    shared.stop_at = Clock::now();
    for (int i = 0; i < o.concurrency; ++i)
        threads.emplace_back(worker, std::cref(o), channels[o.shared_channel ? 0 : i], std::ref(shared),
                             std::ref(results[i]));
    for (auto& t : threads) t.join();
    threads.clear();
    for (auto& r : results) r = WorkerResult{};
    {
        std::lock_guard<std::mutex> lock(shared.mu);
        shared.outcomes.clear();
        shared.rpc_errors.clear();
        shared.first_non_ok_detail.clear();
        shared.parse_errors = 0;
    }

    shared.remaining_warmup = 0;
    shared.remaining = o.calls;
    auto t0 = Clock::now();
    shared.stop_at = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
    for (int i = 0; i < o.concurrency; ++i)
        threads.emplace_back(worker, std::cref(o), channels[o.shared_channel ? 0 : i], std::ref(shared),
                             std::ref(results[i]));
    for (auto& t : threads) t.join();
    double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();

    std::vector<uint32_t> all, agent;
    long rpc_errors = 0, non_ok = 0;
    for (auto& r : results) {
        all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
        agent.insert(agent.end(), r.agent_elapsed_us.begin(), r.agent_elapsed_us.end());
        rpc_errors += r.rpc_errors;
        non_ok += r.non_ok;
    }
    std::sort(all.begin(), all.end());
    std::sort(agent.begin(), agent.end());
    double mean = 0;
    for (auto v : all) mean += v;
    if (!all.empty()) mean /= all.size();

    std::string outcomes = "{";
    for (auto& [k, v] : shared.outcomes) outcomes += (outcomes.size() > 1 ? "," : "") + ("\"" + std::to_string(k) + "\":" + std::to_string(v));
    outcomes += "}";
    std::string errors = "{";
    for (auto& [k, v] : shared.rpc_errors) errors += (errors.size() > 1 ? "," : "") + ("\"" + json_escape(k) + "\":" + std::to_string(v));
    errors += "}";

    std::printf(
        "{\"method\":\"%s\",\"concurrency\":%d,\"shared_channel\":%s,\"calls\":%zu,\"seconds\":%.3f,"
        "\"calls_per_s\":%.1f,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,\"max_us\":%u,\"mean_us\":%.1f,"
        "\"rpc_errors\":%ld,\"non_ok\":%ld,\"non_ok_outcomes\":%s,\"parse_errors\":%ld,"
        "\"first_non_ok_detail\":\"%s\",\"errors\":%s,\"agent_elapsed_p50_us\":%u,\"agent_elapsed_p99_us\":%u}\n",
        o.method.c_str(), o.concurrency, o.shared_channel ? "true" : "false", all.size(), elapsed,
        elapsed > 0 ? all.size() / elapsed : 0.0, percentile(all, 0.50), percentile(all, 0.90),
        percentile(all, 0.99), all.empty() ? 0 : all.back(), mean, rpc_errors, non_ok, outcomes.c_str(),
        shared.parse_errors, json_escape(shared.first_non_ok_detail).c_str(), errors.c_str(),
        percentile(agent, 0.50), percentile(agent, 0.99));
    return 0;
}
