//! Checks a live response against the OpenAPI 3.1 document the node
//! serves: the schema of the operation's response for that status (its
//! `$ref`s into `components` resolved by a JSON Schema 2020-12
//! validator).

use serde_json::{Value, json};

pub struct Document(pub Value);

impl Document {
    pub fn parse(text: &str) -> Result<Document, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if v["openapi"].as_str().is_none_or(|s| !s.starts_with("3.1")) {
            return Err(format!("not an OpenAPI 3.1 document: {:?}", v["openapi"]));
        }
        Ok(Document(v))
    }

    /// Whether `body` (JSON) is what the document says `method template`
    /// answers with `status`.
    pub fn check(
        &self,
        method: &str,
        template: &str,
        status: u16,
        body: &str,
    ) -> Result<(), String> {
        let op = &self.0["paths"][template][method.to_ascii_lowercase()];
        if op.is_null() {
            return Err(format!("{method} {template} is not in the document"));
        }
        let mut response = &op["responses"][status.to_string()];
        if response.is_null() {
            return Err(format!(
                "{method} {template}: status {status} is not documented"
            ));
        }
        if let Some(r) = response["$ref"].as_str() {
            let name = r
                .strip_prefix("#/components/responses/")
                .ok_or_else(|| format!("unexpected reference {r}"))?;
            response = &self.0["components"]["responses"][name];
        }
        let schema = &response["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!("{method} {template} {status}: no JSON schema"));
        }
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.0["components"].clone(),
        });
        if let (Some(r), Some(s)) = (root.as_object_mut(), schema.as_object()) {
            for (k, v) in s {
                r.insert(k.clone(), v.clone());
            }
        }
        let validator = jsonschema::draft202012::new(&root).map_err(|e| e.to_string())?;
        let instance: Value =
            serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {template} {status} does not match the document: {errors:?}\n{body}"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Document;

    #[test]
    fn a_response_is_checked_against_its_schema_and_status() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/api/openapi.json"
        ))
        .unwrap_or_default();
        let Ok(doc) = Document::parse(&text) else {
            panic!("ops/api/openapi.json does not parse");
        };
        let one = r#"{"address":"198.18.0.2","remote_as":65000,"state":"Established","updates_received":3,"prefixes_received":4,"prefixes_denied":0,"last_error":null,"updates_sent":2,"uptime_seconds":5,"table_sent":true,"established_transitions":1,"notifications_sent":{},"notifications_received":{"6/2":1},"output_queued_octets":0,"output_buffer_octets":134217728,"output_resets":0,"prefixes_accepted":4,"prefixes_advertised":null,"capabilities":null}"#;
        let t = "/api/v1/neighbors/{address}";
        assert_eq!(doc.check("GET", t, 200, one), Ok(()));
        // A field missing, a state that is none, an extra field, a status
        // not documented, an error without its field.
        let missing = one.replace(r#""prefixes_denied":0,"#, "");
        assert!(doc.check("GET", t, 200, &missing).is_err());
        let state = one.replace("Established", "Happy");
        assert!(doc.check("GET", t, 200, &state).is_err());
        let extra = one.replacen('{', r#"{"color":"blue","#, 1);
        assert!(doc.check("GET", t, 200, &extra).is_err());
        assert!(doc.check("GET", t, 418, one).is_err());
        assert!(doc.check("GET", t, 404, r#"{"message":"x"}"#).is_err());
        let code = one.replace(r#""6/2":1"#, r#""cease":1"#);
        assert!(doc.check("GET", t, 200, &code).is_err());
        assert_eq!(
            doc.check("GET", t, 404, r#"{"error":"no neighbour"}"#),
            Ok(())
        );
    }
}
