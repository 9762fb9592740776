//! The signing keys on every backend: created on first run, published, reopened, rotated.

use amr_kernel::audit::Actor;
use amr_kernel::signing::{self, Keyring, Verification};
use amr_kernel::testing::{TestDb, backends};
use amr_kernel::{events, on_conn};

async fn audit_actions(db: &amr_kernel::db::Db) -> Vec<String> {
    on_conn!(db, c => sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(c)
        .await
        .unwrap())
}

#[tokio::test]
async fn the_key_is_made_once_published_and_rotated_without_losing_old_signatures() {
    for b in backends() {
        let t = TestDb::new(b).await;
        let path = t.dir().join("keys").join("signing.key");
        assert!(signing::published(&t.db).await.unwrap().is_empty());

        let first = Keyring::open(&t.db, &path).await.unwrap();
        assert!(path.exists(), "{b:?}: the key file is created on first run");
        let keys = signing::published(&t.db).await.unwrap();
        assert_eq!(keys.len(), 1, "{b:?}");
        assert_eq!(keys[0].id, first.key_id());
        assert_eq!(keys[0].public_key, first.verifying_key());
        assert!(keys[0].retired_at.is_none());
        let ev = events::all_after(&t.db, 0, 10).await.unwrap();
        assert!(events::public_after(&t.db, 0, 10).await.unwrap().is_empty());
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "kernel.signing_key.published");
        assert_eq!(
            ev[0].payload_json()["key_id"],
            serde_json::json!(first.key_id().to_string())
        );
        assert_eq!(audit_actions(&t.db).await, vec!["signing_key.publish"]);

        // Reopening reads the same key and publishes nothing new.
        let again = Keyring::open(&t.db, &path).await.unwrap();
        assert_eq!(again.key_id(), first.key_id());
        assert_eq!(signing::published(&t.db).await.unwrap().len(), 1);
        assert_eq!(events::head(&t.db).await.unwrap(), 1);

        let msg = b"AMR test v1\nsomething signed";
        let s = first.sign(msg);
        assert_eq!(
            signing::verify(&t.db, s.key_id, msg, &s.signature)
                .await
                .unwrap(),
            Verification::Valid { retired: false }
        );
        assert_eq!(
            signing::verify(
                &t.db,
                s.key_id,
                b"AMR test v1\nsomething else",
                &s.signature
            )
            .await
            .unwrap(),
            Verification::BadSignature
        );
        let stranger = Keyring::from_secret([3u8; 32]);
        let forged = stranger.sign(msg);
        assert_eq!(
            signing::verify(&t.db, forged.key_id, msg, &forged.signature)
                .await
                .unwrap(),
            Verification::UnknownKey
        );

        // Rotation: a new key in the file, the old one retired but still verifying.
        let new_id = signing::rotate(&t.db, &path, &Actor::cli()).await.unwrap();
        assert_ne!(new_id, first.key_id());
        let keys = signing::published(&t.db).await.unwrap();
        assert_eq!(keys.len(), 2, "{b:?}");
        let old = keys.iter().find(|k| k.id == first.key_id()).unwrap();
        assert!(old.retired_at.is_some());
        assert_eq!(old.to_json()["status"], "retired");
        assert_eq!(
            signing::verify(&t.db, s.key_id, msg, &s.signature)
                .await
                .unwrap(),
            Verification::Valid { retired: true }
        );
        let current = Keyring::open(&t.db, &path).await.unwrap();
        assert_eq!(current.key_id(), new_id);
        assert_eq!(
            audit_actions(&t.db).await,
            vec![
                "signing_key.publish",
                "signing_key.publish",
                "signing_key.retire"
            ]
        );

        // A key file whose key was retired (a second server still holding the old file, a
        // restored backup) is refused at start-up.
        let other_file = t.dir().join("other.key");
        let p2 = t.dir().join("k2").join("signing.key");
        let k2 = Keyring::open(&t.db, &p2).await.unwrap();
        signing::rotate(&t.db, &other_file, &Actor::cli())
            .await
            .unwrap();
        let err = Keyring::open(&t.db, &p2).await.unwrap_err().to_string();
        assert!(err.contains("已停用"), "{b:?}: {err}");
        assert!(
            signing::find(&t.db, k2.key_id())
                .await
                .unwrap()
                .unwrap()
                .retired_at
                .is_some()
        );
    }
}
