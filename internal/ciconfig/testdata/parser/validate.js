// Parses a CircleCI configuration with @circleci/circleci-config-parser,
// which validates every component against CircleCI's schemas, then parses
// the configuration the parser writes back out. Prints a JSON summary of
// the jobs and workflows on stdout; on failure prints the parser's message
// on stderr and exits 1.
'use strict';

const fs = require('fs');

function main() {
  const file = process.argv[2];
  if (!file) {
    throw new Error('usage: node validate.js <config.yml>');
  }
  const parser = require('@circleci/circleci-config-parser');
  const config = parser.parseConfig(fs.readFileSync(file, 'utf8'));
  const again = parser.parseConfig(config.stringify());
  const summary = {
    version: config.version,
    jobs: config.jobs.map((j) => j.name),
    workflows: {},
    roundTripJobs: again.jobs.map((j) => j.name),
    commands: (config.commands || []).map((c) => c.name),
    steps: {},
  };
  for (const j of config.jobs) {
    summary.steps[j.name] = j.steps.map((s) => s.name);
  }
  for (const w of config.workflows) {
    summary.workflows[w.name] = w.jobs.map((wj) => {
      const p = wj.parameters || {};
      return {
        job: wj.job ? wj.job.name : wj.name,
        name: p.name || null,
        requires: p.requires || [],
        context: p.context || [],
        matrix: p.matrix || null,
        serialGroup: p['serial-group'] || null,
      };
    });
  }
  process.stdout.write(JSON.stringify(summary) + '\n');
}

try {
  main();
} catch (err) {
  // Only the message: the parser is minified, and a stack would print it.
  process.stderr.write(String((err && err.message) || err).slice(0, 4000) + '\n');
  process.exit(1);
}
