// The login form, shown instead of the interface while the Manager asks for a login;
// with single sign-on configured, also a button to the OpenID Connect provider.
import { onMounted, ref } from 'vue';
import { fetchLoginMethods, logIn } from '../lib/api.js';

export default {
  name: 'LoginView',
  setup() {
    const name = ref('');
    const password = ref('');
    const problem = ref('');
    const busy = ref(false);
    const singleSignOn = ref(null);
    onMounted(async () => {
      try {
        singleSignOn.value = (await fetchLoginMethods()).single_sign_on || null;
      } catch {
        singleSignOn.value = null; // An older Manager: passwords only.
      }
    });
    async function submit() {
      busy.value = true;
      problem.value = '';
      try {
        await logIn(name.value, password.value);
        // Start afresh with the session cookie: the live connection needs it too.
        window.location.reload();
      } catch (error) {
        problem.value = error.message;
        busy.value = false;
      }
    }
    return { name, password, problem, busy, submit, singleSignOn };
  },
  template: `<section class="login-view">
    <h1>Log in to Flamenco</h1>
    <form @submit.prevent="submit">
      <label>User name <input v-model="name" name="username" autocomplete="username" required></label>
      <label>Password <input v-model="password" name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit" :disabled="busy">Log in</button>
      <p v-if="problem" class="login-problem" role="alert">{{ problem }}</p>
    </form>
    <p v-if="singleSignOn" class="login-single-sign-on">
      <a class="button" :href="singleSignOn.login_url">Sign in with {{ singleSignOn.provider_name }}</a>
    </p>
  </section>`,
};
