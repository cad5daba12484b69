//! TypeScript types and zod schemas generated from the model's JSON Schema.
//!
//! The templates lay the definitions out; this module only translates each schema construct.
//! A construct it does not know is an error, so a model change can never be dropped silently.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::WriteError;
use crate::templates::doc;

/// One named type: an object with fields, or an alias such as an enum.
#[derive(Debug, Serialize)]
pub(crate) struct TypeDef {
    /// The type's name, such as `Price`.
    name: String,
    /// Its description from the model's doc comments.
    description: String,
    /// The fields of an object type; empty for aliases.
    fields: Vec<Field>,
    /// The TypeScript type of an alias (empty for objects).
    ts: String,
    /// The zod schema of an alias (empty for objects).
    zod: String,
}

/// One field of an object type.
#[derive(Debug, Serialize)]
struct Field {
    name: String,
    description: String,
    /// Whether the field may be absent from the JSON the writer emits.
    optional: bool,
    ts: String,
    zod: String,
}

/// The model's definitions, each after the ones it uses, the root type last.
pub(crate) fn generate(schema: &Value) -> Result<Vec<TypeDef>, WriteError> {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let root_name = schema
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("UnifiedContent")
        .to_string();

    let mut order = Vec::new();
    let mut seen = BTreeMap::new();
    for name in defs.keys() {
        visit(name, &defs, &mut seen, &mut order)?;
    }
    let mut out = Vec::new();
    for name in order {
        out.push(type_def(&name, &defs[&name], &format!("/$defs/{name}"))?);
    }
    out.push(type_def(&root_name, schema, "")?);
    Ok(out)
}

/// TypeScript declarations of the model (`export type UnifiedContent = { ... }` and every type
/// it uses), for packages that hand the model to JavaScript without writing engine files,
/// such as the Node addon's `model.d.ts`.
pub fn typescript_declarations() -> Result<String, WriteError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    for t in generate(&unified_content::json_schema())? {
        let _ = write!(
            out,
            "\n/** {} */\nexport type {} = ",
            doc(t.description),
            t.name
        );
        if t.fields.is_empty() {
            out.push_str(&t.ts);
        } else {
            out.push('{');
            for f in t.fields {
                let optional = if f.optional { "?" } else { "" };
                let _ = write!(
                    out,
                    "\n  /** {} */\n  {}{optional}: {};",
                    doc(f.description),
                    f.name,
                    f.ts
                );
            }
            out.push_str("\n}");
        }
        out.push_str(";\n");
    }
    Ok(out)
}

/// A JavaScript module of the model's zod schemas (`export const UnifiedContent =
/// z.object({ ... })` after every schema it uses), importing `z` from `zod_module` (such as
/// `astro/zod`), for packages that validate the model in JavaScript without writing engine
/// files, such as the Node addon's Astro loader. The same schemas as Astro's `collections.ts`.
pub fn zod_schemas(zod_module: &str) -> Result<String, WriteError> {
    use std::fmt::Write as _;
    let mut out = format!("import {{ z }} from {zod_module:?};\n");
    for t in generate(&unified_content::json_schema())? {
        let _ = write!(
            out,
            "\n/** {} */\nexport const {} = ",
            doc(t.description),
            t.name
        );
        if t.fields.is_empty() {
            out.push_str(&t.zod);
        } else {
            out.push_str("z.object({");
            for f in t.fields {
                let _ = write!(
                    out,
                    "\n  /** {} */\n  {}: {},",
                    doc(f.description),
                    f.name,
                    f.zod
                );
            }
            out.push_str("\n})");
        }
        out.push_str(";\n");
    }
    Ok(out)
}

/// Depth-first ordering so that a zod constant is declared before any schema that uses it.
fn visit(
    name: &str,
    defs: &Map<String, Value>,
    seen: &mut BTreeMap<String, bool>,
    order: &mut Vec<String>,
) -> Result<(), WriteError> {
    match seen.get(name) {
        Some(true) => return Ok(()),
        Some(false) => {
            return Err(schema_error(
                &format!("/$defs/{name}"),
                "recursive definitions need z.lazy",
            ));
        }
        None => {}
    }
    seen.insert(name.to_string(), false);
    let def = defs.get(name).ok_or_else(|| {
        schema_error(
            &format!("/$defs/{name}"),
            "reference to a missing definition",
        )
    })?;
    let mut refs = Vec::new();
    collect_refs(def, &mut refs);
    for r in refs {
        visit(&r, defs, seen, order)?;
    }
    seen.insert(name.to_string(), true);
    order.push(name.to_string());
    Ok(())
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str)
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                refs.push(name.to_string());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

fn schema_error(pointer: &str, message: &str) -> WriteError {
    WriteError::Schema {
        pointer: if pointer.is_empty() {
            "/".into()
        } else {
            pointer.into()
        },
        message: message.into(),
    }
}

fn description(schema: &Value) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn type_def(name: &str, schema: &Value, pointer: &str) -> Result<TypeDef, WriteError> {
    let description = description(schema);
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        return Ok(TypeDef {
            name: name.to_string(),
            description,
            fields: fields(schema, props, pointer)?,
            ts: String::new(),
            zod: String::new(),
        });
    }
    let (ts, zod) = expr(schema, pointer)?;
    Ok(TypeDef {
        name: name.to_string(),
        description,
        fields: Vec::new(),
        ts,
        zod,
    })
}

fn fields(
    schema: &Value,
    props: &Map<String, Value>,
    pointer: &str,
) -> Result<Vec<Field>, WriteError> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    props
        .iter()
        .map(|(name, prop)| {
            let here = format!("{pointer}/properties/{name}");
            let (ts, mut zod) = expr(prop, &here)?;
            let has_default = prop.get("default").is_some();
            let is_required = required.contains(&name.as_str());
            if let Some(default) = prop.get("default") {
                zod.push_str(&format!(".default({default})"));
            } else if !is_required {
                zod.push_str(".optional()");
            }
            Ok(Field {
                name: name.clone(),
                description: description(prop),
                optional: !is_required && !has_default,
                ts,
                zod,
            })
        })
        .collect()
}

/// The TypeScript type and zod schema of one schema node.
fn expr(schema: &Value, pointer: &str) -> Result<(String, String), WriteError> {
    let Some(map) = schema.as_object() else {
        return Err(schema_error(pointer, "expected an object"));
    };
    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/$defs/")
            .ok_or_else(|| schema_error(pointer, "only #/$defs/ references are handled"))?;
        return Ok((name.to_string(), name.to_string()));
    }
    if let Some(any) = map.get("anyOf").and_then(Value::as_array) {
        let (nulls, others): (Vec<&Value>, Vec<&Value>) = any
            .iter()
            .partition(|v| v.get("type") == Some(&Value::from("null")));
        if nulls.len() == 1 && others.len() == 1 {
            let (ts, zod) = expr(others[0], &format!("{pointer}/anyOf/0"))?;
            return Ok((format!("{ts} | null"), format!("{zod}.nullable()")));
        }
        return Err(schema_error(pointer, "anyOf other than one type or null"));
    }
    if let Some(one) = map.get("oneOf").and_then(Value::as_array) {
        let values: Option<Vec<&str>> = one
            .iter()
            .map(|v| v.get("const").and_then(Value::as_str))
            .collect();
        let values =
            values.ok_or_else(|| schema_error(pointer, "oneOf other than string constants"))?;
        let quoted: Vec<String> = values.iter().map(|v| Value::from(*v).to_string()).collect();
        return Ok((
            quoted.join(" | "),
            format!("z.enum([{}])", quoted.join(", ")),
        ));
    }
    let (ty, nullable) = match map.get("type") {
        Some(Value::String(t)) => (t.as_str(), false),
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            match names.as_slice() {
                [t, "null"] | ["null", t] => (*t, true),
                _ => return Err(schema_error(pointer, "a type list other than [type, null]")),
            }
        }
        _ => return Err(schema_error(pointer, "no type, $ref, anyOf or oneOf")),
    };
    let minimum = map.get("minimum").map(Value::to_string);
    let (ts, mut zod) = match ty {
        "string" => {
            let mut zod = if map.get("format").and_then(Value::as_str) == Some("date-time") {
                // Astro's convention: dates become Date objects after validation.
                "z.coerce.date()".to_string()
            } else {
                "z.string()".to_string()
            };
            if let Some(pattern) = map.get("pattern") {
                zod.push_str(&format!(".regex(new RegExp({pattern}))"));
            }
            ("string".to_string(), zod)
        }
        "integer" | "number" => {
            let mut zod = "z.number()".to_string();
            if ty == "integer" {
                zod.push_str(".int()");
            }
            if let Some(min) = minimum {
                zod.push_str(&format!(".min({min})"));
            }
            ("number".to_string(), zod)
        }
        "boolean" => ("boolean".to_string(), "z.boolean()".to_string()),
        "array" => {
            let items = map
                .get("items")
                .ok_or_else(|| schema_error(pointer, "an array without items"))?;
            let (ts, zod) = expr(items, &format!("{pointer}/items"))?;
            let ts = if ts.contains(' ') {
                format!("({ts})[]")
            } else {
                format!("{ts}[]")
            };
            (ts, format!("z.array({zod})"))
        }
        "object" => {
            if map.contains_key("properties") {
                return Err(schema_error(
                    pointer,
                    "inline objects with properties; give the type a name in the model",
                ));
            }
            match map.get("additionalProperties") {
                Some(Value::Bool(true)) | None => (
                    "Record<string, unknown>".to_string(),
                    "z.record(z.string(), z.unknown())".to_string(),
                ),
                Some(inner @ Value::Object(_)) => {
                    let (ts, zod) = expr(inner, &format!("{pointer}/additionalProperties"))?;
                    (
                        format!("Record<string, {ts}>"),
                        format!("z.record(z.string(), {zod})"),
                    )
                }
                Some(_) => return Err(schema_error(pointer, "closed objects without properties")),
            }
        }
        other => {
            return Err(schema_error(pointer, &format!("the type '{other}'")));
        }
    };
    if nullable {
        zod.push_str(".nullable()");
        return Ok((format!("{ts} | null"), zod));
    }
    Ok((ts, zod))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_constructs_are_errors_naming_the_pointer() {
        let schema = json!({"title": "X", "properties": {"a": {"type": "tuple"}}});
        let err = generate(&schema).unwrap_err().to_string();
        assert!(err.contains("/properties/a"), "{err}");
        assert!(err.contains("'tuple'"), "{err}");
    }

    #[test]
    fn definitions_come_before_their_users() {
        let defs = generate(&unified_content::json_schema()).unwrap();
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("Amount") < pos("Price"));
        assert!(pos("Price") < pos("ProductVariant"));
        assert!(pos("Inventory") < pos("ProductVariant"));
        assert_eq!(names.last(), Some(&"UnifiedContent"));
    }
}
