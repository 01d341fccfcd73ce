// Package clients is the library every Scilla mail-server plug-in is built
// on (scilla-milter, scilla-pipe, scilla-qmail, scilla-cgp). It holds the
// three things every client must do the same way:
//
//   - Settings: the `client:` section of the Scilla YAML config (the same
//     file format as scillad's) with command-line flag overrides (Flags).
//   - Client: a gRPC connection set to one or more scillad servers with
//     failover and load spreading, connect and data timeouts, the size limit
//     and the on-error policy. Client.Check turns one message into a Plan and
//     never fails: errors become the configured on-error outcome.
//   - NewPlan: the ONE translation of a scillav1.ScanResponse into concrete
//     edits (headers to strip and add, subject prefix, recipients to add and
//     remove, reject or discard), in two shapes: Merged for clients that
//     must apply every group's changes to the one message (milter, CGP) and
//     Groups for clients that can split the message per recipient group
//     (pipe, qmail). Edits.Apply rewrites raw message bytes for clients that
//     hold the message themselves.
//
// The package deliberately holds no policy logic: the server decides, the
// client applies.
package clients
