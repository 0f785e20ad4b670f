"""Builds the levee package with its gRPC stubs generated from the repository's proto/.

The stubs (levee/v1/guard_pb2.py, guard_pb2_grpc.py and the .pyi type stubs) are never committed:
they are made here, at build, from the proto files, so the package always matches the agent's API.
"""
import pathlib

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent


def proto_root() -> pathlib.Path:
    for candidate in (HERE / "proto", HERE.parent.parent / "proto"):
        if (candidate / "levee" / "v1" / "guard.proto").is_file():
            return candidate
    raise SystemExit("levee: proto/levee/v1/guard.proto not found: build from the Levee repository")


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        from grpc_tools import protoc

        out = pathlib.Path(self.build_lib)
        root = proto_root()
        arguments = [
            "grpc_tools.protoc",
            f"--proto_path={root}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            str(root / "levee" / "v1" / "guard.proto"),
        ]
        # .pyi type stubs for the messages where this protoc can make them (protobuf >= 3.20's
        # pyi generator; Debian's grpc_tools lacks it). The public API is typed either way.
        if protoc.main(arguments + [f"--pyi_out={out}"]) != 0 and protoc.main(arguments) != 0:
            raise SystemExit("levee: protoc failed on proto/levee/v1/guard.proto")
        (out / "levee" / "v1" / "__init__.py").touch()


setup(cmdclass={"build_py": BuildWithStubs})
