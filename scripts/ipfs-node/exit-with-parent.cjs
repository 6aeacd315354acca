// Required by the test node's daemon only (scripts/ipfs_test_node.py starts it with stdin a
// pipe): the pipe closes when the process that started the daemon ends, even by SIGKILL, and
// then the daemon ends too, instead of holding a core and its ports after a killed test run.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
