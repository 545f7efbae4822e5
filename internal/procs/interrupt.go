package procs

import (
	"os"
	"os/signal"
)

// EndOnInterrupt makes the process end on SIGINT, as it does by default, also when it was started
// with SIGINT ignored. The Pulumi engine stops its plugins with SIGINT and kills them only five
// seconds later; a plugin started under a background job of a shell script (`cmd &`, nohup, some
// CI runners) inherits SIGINT ignored, and every Pulumi run then waited those five seconds.
func EndOnInterrupt() {
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	go func() {
		<-interrupted
		os.Exit(130) // 128 + SIGINT, as a shell reports a process ended by it
	}()
}
