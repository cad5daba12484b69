//! The factory against the seed's numbers: table tests for check, recommend and cost, and
//! snapshots of everything `new` writes for the seed's three triples.

use std::collections::BTreeMap;

use compose::{Catalog, ComposeError, CostInputs, NewStack};

fn catalog() -> Catalog {
    Catalog::embedded().expect("the embedded compose.toml is valid")
}

#[test]
fn check_gives_the_seed_answers() {
    // (cms, commerce, engine) -> (score, complexity, tested, recommended); the seed's matrix
    // names shopify_basic and nextjs, accepted here as aliases.
    let table = [
        (("decap", "snipcart", "eleventy"), (9, "low", true, true)),
        (("sanity", "shopify", "astro"), (10, "medium", true, true)),
        (
            ("sanity", "shopify_basic", "astro"),
            (10, "medium", true, true),
        ),
        (("contentful", "shopify", "next"), (9, "high", true, true)),
        (("contentful", "shopify", "nextjs"), (9, "high", true, true)),
        (("Sanity", "SHOPIFY", "Astro"), (10, "medium", true, true)),
        (
            ("sanity", "shopify", "eleventy"),
            (6, "unknown", false, false),
        ),
        (("decap", "foxy", "astro"), (6, "unknown", false, false)),
        (("tina", "shopify", "next"), (6, "unknown", false, false)),
    ];
    for ((cms, commerce, engine), (score, complexity, tested, recommended)) in table {
        let answer = catalog().check(cms, commerce, engine).unwrap();
        assert_eq!(answer.score, score, "{cms} {commerce} {engine}");
        assert_eq!(answer.complexity, complexity, "{cms} {commerce} {engine}");
        assert_eq!(answer.tested, tested, "{cms} {commerce} {engine}");
        assert_eq!(answer.recommended, recommended, "{cms} {commerce} {engine}");
        assert_eq!(
            answer.warning.as_deref(),
            (!tested).then_some("This combination hasn't been fully tested")
        );
    }
}

#[test]
fn check_refuses_with_the_valid_choices() {
    let table = [
        (
            ("wordpress", "shopify", "astro"),
            "unknown CMS 'wordpress'; known: decap, tina, sanity, contentful",
        ),
        (
            ("sanity", "woocommerce", "astro"),
            "unknown commerce provider 'woocommerce'; known: snipcart, foxy, shopify",
        ),
        (
            ("sanity", "shopify", "hugo"),
            "unknown engine 'hugo'; known: eleventy, astro, next",
        ),
        (
            ("shopify", "sanity", "astro"),
            "unknown CMS 'shopify'; known: decap, tina, sanity, contentful",
        ),
        // The seed's per-provider lists: Decap never with Next.js, Tina never with Eleventy,
        // Snipcart and Foxy never with Next.js.
        (
            ("decap", "shopify", "next"),
            "decap does not work with engine next; engines decap works with: eleventy, astro",
        ),
        (
            ("tina", "shopify", "eleventy"),
            "tina does not work with engine eleventy; engines tina works with: next, astro",
        ),
        (
            ("sanity", "snipcart", "next"),
            "snipcart does not work with engine next; engines snipcart works with: eleventy, astro",
        ),
    ];
    for ((cms, commerce, engine), message) in table {
        let error = catalog().check(cms, commerce, engine).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
}

/// cms, commerce, engine, monthly cost, setup cost, score.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u8,
);

#[test]
fn recommend_gives_the_seed_recommendations() {
    let table: [(&[&str], &[Row]); 6] = [
        (&[], &[]),
        // Budget alone is not enough: the seed asks for budget and simple needs together.
        (&["budget_conscious"], &[]),
        (
            &["budget_conscious", "simple_needs"],
            &[(
                "decap",
                "snipcart",
                "eleventy",
                "$85-140",
                "$2,400-3,600",
                9,
            )],
        ),
        (
            &["performance_critical"],
            &[("sanity", "shopify", "astro", "$150-225", "$3,200-4,800", 10)],
        ),
        (
            &["enterprise"],
            &[(
                "contentful",
                "shopify",
                "next",
                "$400-700",
                "$4,800-8,000",
                9,
            )],
        ),
        (
            &[
                "budget_conscious",
                "simple_needs",
                "performance_critical",
                "enterprise",
            ],
            &[
                (
                    "decap",
                    "snipcart",
                    "eleventy",
                    "$85-140",
                    "$2,400-3,600",
                    9,
                ),
                ("sanity", "shopify", "astro", "$150-225", "$3,200-4,800", 10),
                (
                    "contentful",
                    "shopify",
                    "next",
                    "$400-700",
                    "$4,800-8,000",
                    9,
                ),
            ],
        ),
    ];
    for (needs, wanted) in table {
        let got: Vec<_> = catalog()
            .recommend(needs)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.cms,
                    r.commerce,
                    r.engine,
                    r.monthly_cost,
                    r.setup_cost,
                    r.score,
                )
            })
            .collect();
        let wanted: Vec<_> = wanted
            .iter()
            .map(|(a, b, c, d, e, f)| {
                (
                    a.to_string(),
                    b.to_string(),
                    c.to_string(),
                    d.to_string(),
                    e.to_string(),
                    *f,
                )
            })
            .collect();
        assert_eq!(got, wanted, "{needs:?}");
    }
    // Every recommendation is a combination check accepts with the same score.
    for r in catalog().recommend(compose::NEEDS).unwrap() {
        assert_eq!(
            catalog()
                .check(&r.cms, &r.commerce, &r.engine)
                .unwrap()
                .score,
            r.score
        );
        assert!(!r.reason.is_empty());
    }
    let error = catalog().recommend(&["cheap"]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown need 'cheap'; known: budget_conscious, simple_needs, performance_critical, enterprise"
    );
}

#[test]
fn cost_follows_the_formulas() {
    // Worked by hand from the price table (2025-06, us-east-1):
    // pages = 1000 builds x 100 pages; API requests = 1,000,000 + 100,000;
    // invocations = 1,100,000 + 1,000,000 + 1000 = 2,101,000;
    // Lambda = 2.101 x 0.20 + 63,030 GB-s x 0.0000133334 = 0.4202 + 0.8404042 = 1.2606042;
    // DynamoDB = 6 x 0.625 + 5 x 0.125 + 40,000 KB / 1,048,576 x 0.45 = 4.3921661;
    // SNS = 0.50; API Gateway = 1.1 x 3.50 = 3.85; storage = 1 GB x 0.023;
    // builds = 4000 minutes x 0.0034 = 13.60.
    let estimate = catalog()
        .estimate(CostInputs {
            webhooks_per_month: 1_000_000,
            builds_per_month: 1000,
            items: 10_000,
            site_mb: 1024,
        })
        .unwrap();
    let lines: BTreeMap<&str, (String, Option<String>)> = estimate
        .lines
        .iter()
        .map(|l| {
            (
                l.name,
                (l.monthly.rounded(4), l.seed_monthly.map(|s| s.rounded(0))),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(lines["lambda_executions"], ("1.2606".into(), s("8")));
    assert_eq!(lines["dynamodb"], ("4.3922".into(), s("3")));
    assert_eq!(lines["sns"], ("0.5000".into(), s("1")));
    assert_eq!(lines["api_gateway"], ("3.8500".into(), s("2")));
    assert_eq!(lines["storage"], ("0.0230".into(), s("1")));
    assert_eq!(lines["site_builds"], ("13.6000".into(), None));
    assert_eq!(estimate.integration_overhead.to_string(), "$10.03");
    // The seed's fixed integration overhead: 8 + 3 + 1 + 2 + 1.
    assert_eq!(estimate.seed_integration_overhead.to_string(), "$15.00");
    assert_eq!(estimate.total.to_string(), "$23.63");
    assert_eq!(estimate.prices_as_of, "2025-06");
}

#[test]
fn cost_inputs_are_validated() {
    let zero = catalog()
        .estimate(CostInputs {
            webhooks_per_month: 0,
            builds_per_month: 0,
            items: 0,
            site_mb: 0,
        })
        .unwrap();
    assert_eq!(zero.total.to_string(), "$0.00");
    let limits = [
        (
            "webhooks_per_month",
            CostInputs {
                webhooks_per_month: 1_000_000_001,
                ..Default::default()
            },
        ),
        (
            "builds_per_month",
            CostInputs {
                builds_per_month: 100_001,
                ..Default::default()
            },
        ),
        (
            "items",
            CostInputs {
                items: u64::MAX,
                ..Default::default()
            },
        ),
        (
            "site_mb",
            CostInputs {
                site_mb: 10_000_001,
                ..Default::default()
            },
        ),
    ];
    for (name, inputs) in limits {
        match catalog().estimate(inputs) {
            Err(ComposeError::CostInput { input, .. }) => assert_eq!(input, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    // The largest accepted inputs neither overflow nor panic.
    catalog()
        .estimate(CostInputs {
            webhooks_per_month: 1_000_000_000,
            builds_per_month: 100_000,
            items: 100_000_000,
            site_mb: 10_000_000,
        })
        .unwrap();
}

fn stack(cms: &str, commerce: &str, engine: &str) -> NewStack {
    NewStack {
        client: "acme".into(),
        environment: "dev".into(),
        cms: cms.into(),
        commerce: commerce.into(),
        engine: engine.into(),
        region: "eu-west-1".into(),
        currency: "EUR".into(),
    }
}

const SEED_TRIPLES: [(&str, &str, &str); 3] = [
    ("decap", "snipcart", "eleventy"),
    ("sanity", "shopify", "astro"),
    ("contentful", "shopify", "next"),
];

#[test]
fn new_writes_the_starting_point() {
    for (cms, commerce, engine) in SEED_TRIPLES {
        let scaffold = catalog().scaffold(&stack(cms, commerce, engine)).unwrap();
        let mut text = String::new();
        for file in &scaffold.files {
            text.push_str(&format!("=== {} ===\n{}\n", file.path, file.contents));
        }
        text.push_str("=== webhooks ===\n");
        for w in &scaffold.webhooks {
            text.push_str(&format!(
                "{} {} ({})\n",
                w.provider, w.url, w.registered_with
            ));
        }
        text.push_str("=== still to fill in ===\n");
        for item in &scaffold.to_fill {
            text.push_str(&format!("{item}\n"));
        }
        insta::assert_snapshot!(format!("new-{cms}-{commerce}-{engine}"), text);
    }
}

/// The config `new` writes, with its placeholders filled and its secrets in the environment,
/// is one the integration API starts with: exactly the two providers.
#[test]
fn new_config_loads_in_the_integration_api() {
    let secrets = [
        ("SANITY_WEBHOOK_SECRET", "s"),
        ("SHOPIFY_WEBHOOK_SECRET", "s"),
        ("CONTENTFUL_SIGNING_SECRET", &"a".repeat(64)),
        ("DECAP_WEBHOOK_SECRET", "s"),
        ("SNIPCART_SECRET_API_KEY", "s"),
    ];
    for (cms, commerce, engine) in SEED_TRIPLES {
        let scaffold = catalog().scaffold(&stack(cms, commerce, engine)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = &scaffold.files[0];
        assert_eq!(config.path, "integration-api.toml");
        let filled = config
            .contents
            .replace(
                "github_repo = \"FILL-IN\"",
                "github_repo = \"acme/content\"",
            )
            .replace("FILL-IN", "acme-project");
        let path = dir.path().join("integration-api.toml");
        std::fs::write(&path, filled).unwrap();
        let env = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let loaded = integration_api::Config::load(Some(&path), env).unwrap();
        let registry = loaded.registry().unwrap();
        let mut names: Vec<String> = registry.adapters().map(|a| a.name().to_string()).collect();
        names.sort();
        let mut wanted = vec![cms.to_string(), commerce.to_string()];
        wanted.sort();
        assert_eq!(names, wanted, "{cms} {commerce} {engine}");
    }
}

/// Every parameter `new` puts in samconfig.toml is one the template declares.
#[test]
fn new_parameters_are_the_templates() {
    let template = include_str!("../../../deploy/template.yaml");
    for (cms, commerce, engine) in SEED_TRIPLES {
        let scaffold = catalog().scaffold(&stack(cms, commerce, engine)).unwrap();
        let samconfig = &scaffold.files[1].contents;
        for line in samconfig.lines().filter(|l| l.starts_with("  \"")) {
            let name = line
                .trim()
                .trim_matches(|c| c == '"' || c == ',')
                .split('=')
                .next()
                .unwrap();
            assert!(
                template.contains(&format!("\n  {name}:\n")),
                "{name} is no template parameter"
            );
        }
    }
}

#[test]
fn new_refuses_bad_input_and_occupied_folders() {
    let mut bad = stack("sanity", "shopify", "astro");
    bad.client = "Acme Corp".into();
    assert!(matches!(
        catalog().scaffold(&bad),
        Err(ComposeError::ClientId { .. })
    ));
    let mut bad = stack("sanity", "shopify", "astro");
    bad.environment = "qa".into();
    assert_eq!(
        catalog().scaffold(&bad).unwrap_err().to_string(),
        "unknown environment 'qa'; known: dev, staging, prod"
    );
    assert!(
        catalog()
            .scaffold(&stack("decap", "shopify", "next"))
            .is_err()
    );

    let scaffold = catalog()
        .scaffold(&stack("sanity", "shopify", "astro"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acme");
    // A new folder and an empty one are written.
    scaffold.write(&out, false).unwrap();
    assert!(out.join("site/src/content.config.ts").is_file());
    // An occupied folder is refused and left as it was, unless overwriting is allowed.
    std::fs::write(out.join("samconfig.toml"), "mine").unwrap();
    std::fs::write(out.join("notes.txt"), "keep").unwrap();
    assert!(matches!(
        scaffold.write(&out, false),
        Err(ComposeError::OutputExists { .. })
    ));
    assert_eq!(
        std::fs::read_to_string(out.join("samconfig.toml")).unwrap(),
        "mine"
    );
    scaffold.write(&out, true).unwrap();
    assert_ne!(
        std::fs::read_to_string(out.join("samconfig.toml")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep"
    );
}
