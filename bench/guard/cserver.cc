// A minimal levee.v1.Guard server on gRPC's C core (Debian libgrpc++-dev), for bench/guard.py: the
// floor the agent's Guard RPC is measured against (issue 16). It answers Ping only (every other
// method is UNIMPLEMENTED), with the stubs protoc's grpc_cpp_plugin generates from
// proto/levee/v1/guard.proto, on a Unix socket, over the same HTTP/2 transport the agent speaks.
//
//   cserver --socket /tmp/x/c.sock [--api sync|callback]
//
// --api sync (the default) is the synchronous API (a thread pool blocking on the completion queue);
// callback is the callback (reactor) API. It prints "listening" on stdout once the port is bound and
// serves until SIGTERM or SIGINT.

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "levee/v1/guard.grpc.pb.h"

namespace {

class SyncGuard final : public levee::v1::Guard::Service {
    grpc::Status Ping(grpc::ServerContext*, const levee::v1::PingRequest*, levee::v1::PingResponse*) override {
        return grpc::Status::OK;
    }
};

class CallbackGuard final : public levee::v1::Guard::CallbackService {
    grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context, const levee::v1::PingRequest*,
                                   levee::v1::PingResponse*) override {
        auto* reactor = context->DefaultReactor();
        reactor->Finish(grpc::Status::OK);
        return reactor;
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::string socket_path;
    std::string api = "sync";
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--socket" && i + 1 < argc) {
            socket_path = argv[++i];
        } else if (arg == "--api" && i + 1 < argc) {
            api = argv[++i];
        } else {
            std::fprintf(stderr, "usage: cserver --socket PATH [--api sync|callback]\n");
            return 2;
        }
    }
    if (socket_path.empty() || (api != "sync" && api != "callback")) {
        std::fprintf(stderr, "usage: cserver --socket PATH [--api sync|callback]\n");
        return 2;
    }

    // Block the stop signals in every thread gRPC starts; one thread waits for them below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    SyncGuard sync_service;
    CallbackGuard callback_service;
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("unix:" + socket_path, grpc::InsecureServerCredentials(), &bound);
    if (api == "sync") {
        builder.RegisterService(&sync_service);
    } else {
        builder.RegisterService(&callback_service);
    }
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || bound == 0) {
        std::fprintf(stderr, "cserver: cannot listen on unix:%s\n", socket_path.c_str());
        return 1;
    }
    std::printf("listening on unix:%s (%s API)\n", socket_path.c_str(), api.c_str());
    std::fflush(stdout);

    int received = 0;
    sigwait(&stop_signals, &received);
    server->Shutdown();
    server->Wait();
    return 0;
}
