//! Address discovery: a STUN binding responder on UDP.

use std::net::SocketAddr;

use lifeline_core::net::stun::{self, StunMessage};
use tokio::net::UdpSocket;

/// Answers every STUN binding request on `socket` with the address it came from, until the
/// socket fails. Anything else (other STUN methods, garbage) is ignored.
pub async fn serve(socket: UdpSocket) -> std::io::Result<()> {
    let mut buf = vec![0u8; 1500];
    loop {
        let (n, from) = socket.recv_from(&mut buf).await?;
        if let Some(answer) = answer(&buf[..n], from) {
            if let Err(error) = socket.send_to(&answer, from).await {
                tracing::debug!(%from, %error, "could not answer a STUN request");
            }
        }
    }
}

/// The answer to one datagram from `from`, if it is a binding request.
pub fn answer(packet: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    match stun::parse(packet) {
        Ok(StunMessage::BindingRequest { transaction }) => {
            Some(stun::binding_success(transaction, from))
        }
        _ => None,
    }
}
