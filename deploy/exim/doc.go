// Package exim holds the Exim integration snippets (the *.conf files in this
// folder, meant to be copied or .include'd into an Exim configuration) and
// the end-to-end tests that run a real Exim with them: scilla-pipe as an
// lmtp transport, and the `spam =` ACL condition against scillad's spamd
// listener. There is no Go API here.
package exim
