package grpcapi

import (
	"fmt"
	"os"
)

// removeSocket removes a stale unix socket file, refusing anything else.
func removeSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	return os.Remove(path)
}
