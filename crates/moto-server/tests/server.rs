//! The test server answers the official DynamoDB client, resets, and is gone after drop.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use moto_server::MotoServer;

async fn table_names(client: &aws_sdk_dynamodb::Client) -> Vec<String> {
    client
        .list_tables()
        .send()
        .await
        .expect("list tables")
        .table_names
        .unwrap_or_default()
}

#[tokio::test]
async fn serves_dynamodb_resets_and_dies_on_drop() {
    let server = MotoServer::start().expect("moto starts");
    let client = aws_sdk_dynamodb::Client::new(&server.sdk_config().await);
    client
        .create_table()
        .table_name("probe")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    assert_eq!(table_names(&client).await, ["probe"]);

    server.reset().expect("reset");
    assert!(table_names(&client).await.is_empty());

    let port = server.port();
    drop(server);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still answers after drop"
    );
}

#[tokio::test]
async fn shared_server_is_one_per_process() {
    let first = MotoServer::shared();
    let second = MotoServer::shared();
    assert_eq!(first.endpoint_url(), second.endpoint_url());
    let config = first.sdk_config().await;
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name("moto-server-probe")
        .send()
        .await
        .expect("sns answers");
    assert!(topic.topic_arn().unwrap().contains(moto_server::ACCOUNT_ID));
    let queue = aws_sdk_sqs::Client::new(&config)
        .create_queue()
        .queue_name("moto-server-probe")
        .send()
        .await
        .expect("sqs answers");
    let url = queue.queue_url().unwrap();
    assert!(
        url.contains(&first.port().to_string()),
        "queue URL {url} names the server's port"
    );
    let env = first.env();
    assert!(env.contains(&("AWS_ENDPOINT_URL", first.endpoint_url().to_owned())));
    let client = aws_sdk_dynamodb::Client::new(&first.sdk_config().await);
    client
        .list_tables()
        .send()
        .await
        .expect("shared server answers");
}
