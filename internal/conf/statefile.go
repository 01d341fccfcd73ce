package conf

import "path/filepath"

// StatePath resolves the file a section keeps its state in: an absolute
// name stays as it is, any other is relative to server.state_dir.
func StatePath(stateDir, file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(stateDir, file)
}
