// Command composecheck loads a Compose file with compose-go, the loader Docker Compose itself
// uses (schema, interpolation, merge keys, consistency), and then checks what a loader accepts
// but `docker compose up` would trip over at run time. There is no Docker engine where the
// deploy checks run, so this is as close to `docker compose config` as they get.
//
//	composecheck compose/docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck COMPOSE_FILE")
		os.Exit(2)
	}
	// Without DJANGO_SECRET_KEY the file must not load: a default would be a key committed here,
	// known to everyone, which production settings cannot tell from a real one.
	if _, err := load(os.Args[1], nil); err == nil || !strings.Contains(err.Error(), "DJANGO_SECRET_KEY") {
		fmt.Fprintf(os.Stderr, "composecheck: %s loads without DJANGO_SECRET_KEY in the environment (%v): it must require one\n", os.Args[1], err)
		os.Exit(1)
	}
	// The environment the README's instructions give: a random key, nothing else.
	project, err := load(os.Args[1], map[string]string{"DJANGO_SECRET_KEY": strings.Repeat("k", 64)})
	if err != nil {
		fmt.Fprintf(os.Stderr, "composecheck: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	problems := check(project)
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "composecheck: %s\n", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("composecheck: %s: project %q, %d services OK\n", os.Args[1], project.Name, len(project.Services))
}

// load reads the file as `docker compose -f FILE config` would, in the environment env alone, so
// that every other ${VAR:-default} falls back to the default a fresh clone gets.
func load(path string, env map[string]string) (*types.Project, error) {
	pairs := make([]string, 0, len(env))
	for key, value := range env {
		pairs = append(pairs, key+"="+value)
	}
	options, err := cli.NewProjectOptions([]string{path},
		cli.WithEnv(pairs),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return nil, err
	}
	return options.LoadProject(context.Background())
}

func check(project *types.Project) []string {
	var problems []string
	published := map[string]string{}
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		service := project.Services[name]
		for target, dependency := range service.DependsOn {
			dep := project.Services[target]
			switch dependency.Condition {
			case types.ServiceConditionHealthy:
				if dep.HealthCheck == nil || dep.HealthCheck.Disable {
					problems = append(problems, fmt.Sprintf("%s waits for %s to be healthy, but %s has no healthcheck", name, target, target))
				}
			case types.ServiceConditionCompletedSuccessfully:
				if dep.Restart != "" && dep.Restart != types.RestartPolicyNo {
					problems = append(problems, fmt.Sprintf("%s waits for %s to complete, but %s restarts (%s)", name, target, target, dep.Restart))
				}
			}
		}
		// The README promises Docker Engine 20.10; Compose refuses start_interval before 25.
		if service.HealthCheck != nil && service.HealthCheck.StartInterval != nil {
			problems = append(problems, fmt.Sprintf("%s: healthcheck.start_interval needs Docker Engine 25 or later", name))
		}
		if service.Build != nil {
			dockerfile := service.Build.Dockerfile
			if !filepath.IsAbs(dockerfile) {
				dockerfile = filepath.Join(service.Build.Context, dockerfile)
			}
			if _, err := os.Stat(dockerfile); err != nil {
				problems = append(problems, fmt.Sprintf("%s builds from %s: %v", name, dockerfile, err))
			}
			// docker/Dockerfile needs them; only a real build would notice their absence.
			for _, arg := range []string{"SERVICE", "PORT", "WORKER_PORT"} {
				if value, ok := service.Build.Args[arg]; !ok || value == nil || *value == "" {
					problems = append(problems, fmt.Sprintf("%s builds without the build argument %s", name, arg))
				}
			}
			problems = append(problems, checkAppEnvironment(name, service.Environment)...)
		}
		for key, value := range service.Environment {
			if value != nil && strings.Contains(*value, "${") {
				problems = append(problems, fmt.Sprintf("%s: %s keeps unexpanded text %q", name, key, *value))
			}
		}
		for _, port := range service.Ports {
			key := port.HostIP + ":" + port.Published + "/" + port.Protocol
			if other, taken := published[key]; taken {
				problems = append(problems, fmt.Sprintf("%s and %s both publish %s", other, name, key))
			}
			published[key] = name
		}
	}
	return problems
}

// checkAppEnvironment: the services' images run production settings, which refuse a missing
// database URL or a development secret key (saga_runtime.project_settings.check_production).
func checkAppEnvironment(name string, env types.MappingWithEquals) []string {
	var problems []string
	for _, key := range []string{"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "DJANGO_SECRET_KEY"} {
		if value, ok := env[key]; !ok || value == nil || *value == "" {
			problems = append(problems, fmt.Sprintf("%s: %s is not set", name, key))
		}
	}
	if key := env["DJANGO_SECRET_KEY"]; key != nil && (len(*key) < 50 || strings.HasPrefix(*key, "django-insecure")) {
		problems = append(problems, fmt.Sprintf("%s: DJANGO_SECRET_KEY would be refused by production settings (50+ characters, not django-insecure...)", name))
	}
	return problems
}
