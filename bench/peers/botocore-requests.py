"""The Python peer of `cargo bench --bench ssg_write`: what a site would write by hand instead
of `content-fetch --engine astro`. Every page of every content type is fetched with requests,
each GET signed by botocore's SigV4Auth (1,000 items a page, as content-fetch pages), parsed
with the response's json(), and each entry written as pretty JSON into OUT/<type>/<slug>.json.
No checks, no sort, no atomic swap: a floor for a Python script.

Usage: python botocore-requests.py ENDPOINT OUT EXPECTED. Prints `RESULT seconds peak-RSS-MiB`.
"""

import json
import os
import resource
import sys
import time

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, out, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
signer = SigV4Auth(Credentials("AKIDBENCH", "bench-secret"), "execute-api", "us-east-1")
session = requests.Session()

start = time.perf_counter()
count = 0
for content_type in ["product", "article", "page", "collection", "media"]:
    folder = os.path.join(out, content_type)
    os.makedirs(folder, exist_ok=True)
    cursor = None
    while True:
        url = f"{endpoint}/content?content_type={content_type}&limit=1000"
        if cursor:
            url += f"&cursor={cursor}"
        request = AWSRequest(method="GET", url=url)
        signer.add_auth(request)
        response = session.get(url, headers=dict(request.headers))
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            with open(os.path.join(folder, item["slug"] + ".json"), "w", encoding="utf-8") as f:
                json.dump(item, f, indent=2, ensure_ascii=False)
        count += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
seconds = time.perf_counter() - start
if count != expected:
    sys.exit(f"{count} items, expected {expected}")
rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT {seconds:.2f} {rss_mib:.1f}")
