// Copies the dashboard's front-end packages (installed by `npm ci` from the lockfile)
// into the Python package's static files: src/dbcron/web/static/vendor/ (git-ignored).
// Run by `make venv` (and so by `make run` and `make test`) through the frontend stamp.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const vendor = join(here, "..", "src", "dbcron", "web", "static", "vendor");

// [package, file in the package, name in vendor/]
const files = [
  ["htmx.org", "dist/htmx.min.js", "htmx.min.js"],
  ["htmx.org", "LICENSE", "htmx.LICENSE.txt"],
  ["chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"],
  ["chart.js", "LICENSE.md", "chart.js.LICENSE.md"],
  // the REST API's docs page (/api/docs), served from here instead of a CDN
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui.css"],
  ["swagger-ui-dist", "favicon-32x32.png", "swagger-favicon.png"],
  ["swagger-ui-dist", "LICENSE", "swagger-ui.LICENSE.txt"],
];

rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
const versions = {};
for (const [pkg, file, name] of files) {
  copyFileSync(join(modules, pkg, file), join(vendor, name));
  versions[pkg] = JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
}
writeFileSync(join(vendor, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`front-end packages copied to ${vendor}: ${JSON.stringify(versions)}`);
