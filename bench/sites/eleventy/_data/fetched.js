// Hand-written global data for the bench: the per-type JSON files content-fetch wrote (moved
// to data/ by bench/site-build.sh, so Eleventy does not also read them), as `fetched.<plural>`.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

export default async function () {
  const dir = path.join(process.cwd(), "data");
  const fetched = {};
  for (const name of await readdir(dir)) {
    if (name.endsWith(".json")) {
      fetched[path.basename(name, ".json")] = JSON.parse(await readFile(path.join(dir, name), "utf8"));
    }
  }
  return fetched;
}
