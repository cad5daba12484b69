//! SigV4 request verification as API Gateway IAM auth does it, for the local integration API and test servers.
